package dev.mnv3.core.graph;

/** Per-image activation shape: channels x height x width (vectors are C x 1 x 1). */
public record Shape(int channels, int height, int width) {
    public long size() {
        return (long) channels * height * width;
    }

    @Override
    public String toString() {
        return height == 1 && width == 1 ? Integer.toString(channels) : channels + "x" + height + "x" + width;
    }
}
