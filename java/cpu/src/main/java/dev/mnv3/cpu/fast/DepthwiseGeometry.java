package dev.mnv3.cpu.fast;

import dev.mnv3.core.graph.ConvBnAct;

/** Sizes of one depthwise (or stem) convolution at a given input size. */
record DepthwiseGeometry(int height, int width, int channels, int kernel, int stride, int dilation, int pad,
                         int outHeight, int outWidth) {
    static DepthwiseGeometry of(ConvBnAct c, int h, int w) {
        return new DepthwiseGeometry(h, w, c.inChannels(), c.kernel(), c.stride(), c.dilation(), c.padding(),
                c.outputSize(h), c.outputSize(w));
    }
}
