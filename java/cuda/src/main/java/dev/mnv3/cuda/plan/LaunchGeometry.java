package dev.mnv3.cuda.plan;

/**
 * Grid and block sizes for our kernels, kept apart from the launches so the arithmetic is tested
 * without a GPU. Block sizes differ by kernel: grid-stride, warp-per-row and per-image
 * (mnv3_se_fc) kernels use 256 threads, the NHWC depthwise kernel at most 256 (channel groups x
 * pixel rows), the tiled 1x1 GEMMs 128; see each native/*.cu for its launch notes.
 */
public final class LaunchGeometry {
    public static final int BLOCK = 256;
    public static final int WARPS_PER_BLOCK = BLOCK / 32;
    /** Grid-stride kernels need no more than this many resident blocks per SM to saturate it. */
    public static final int BLOCKS_PER_SM = 32;
    public static final int MAX_GRID_Y = 65535;

    private LaunchGeometry() {
    }

    /** cuLaunchKernel's geometry; the block is (blockX, blockY, 1). */
    public record Launch(int gridX, int gridY, int gridZ, int blockX, int blockY, int sharedBytes) {
        /** A 1-D block of {@code block} threads, a (gridX, gridY) grid. */
        public Launch(int gridX, int gridY, int block, int sharedBytes) {
            this(gridX, gridY, 1, block, 1, sharedBytes);
        }
    }

    /** A 1-D grid-stride kernel over {@code elements}: as many blocks as needed, at most enough to fill the GPU. */
    public static Launch elementwise(long elements, int multiprocessors) {
        if (elements < 1) throw new IllegalArgumentException("nothing to launch over: " + elements + " elements");
        long blocks = Math.min(ceilDiv(elements, BLOCK), (long) Math.max(1, multiprocessors) * BLOCKS_PER_SM);
        return new Launch((int) blocks, 1, BLOCK, 0);
    }

    /** One warp per row (pooled plane or output feature), {@code batch} rows of blocks in y. */
    public static Launch warpPerRow(long rows, int batch) {
        if (rows < 1 || batch < 1) throw new IllegalArgumentException("nothing to launch over: " + rows + " rows x " + batch);
        if (batch > MAX_GRID_Y) throw new IllegalArgumentException("batch " + batch + " exceeds the grid's y limit " + MAX_GRID_Y);
        long blocks = ceilDiv(rows, WARPS_PER_BLOCK);
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException(rows + " rows is too many for one launch");
        return new Launch((int) blocks, batch, BLOCK, 0);
    }

    /**
     * The NHWC depthwise kernel (native/depthwise.cu): blocks of (channel groups) x (pixel rows), 256
     * threads at most, and grid (1, chunks, batch), where chunks splits each image's pixels so
     * that about {@link #BLOCKS_PER_SM} / 4 blocks per SM are in flight. The chunk count is also
     * the number of SE partial sums per channel, so the buffer plan sizes them with it.
     */
    public static Launch depthwiseNhwc(int channelGroups, long pixels, int batch, int multiprocessors) {
        if (channelGroups < 1 || pixels < 1 || batch < 1) {
            throw new IllegalArgumentException("nothing to launch over: " + channelGroups + " channel groups x " + pixels
                    + " pixels x " + batch);
        }
        if (batch > MAX_GRID_Y) throw new IllegalArgumentException("batch " + batch + " exceeds the grid's z limit " + MAX_GRID_Y);
        int bx = Math.min(channelGroups, BLOCK), by = Math.max(1, BLOCK / bx);
        long wanted = ceilDiv((long) Math.max(1, multiprocessors) * BLOCKS_PER_SM / 4, batch);
        int chunks = (int) Math.max(1, Math.min(wanted, Math.min(ceilDiv(pixels, by), MAX_GRID_Y)));
        return new Launch(1, chunks, batch, bx, by, 0);
    }

    /** native/pointwise.cu, FP16/BF16: 128 threads, one 64 x 64 output tile each, grid (ceil(m / 64), ceil(n / 64)). */
    public static Launch pointwise(long m, int n) {
        if (m < 1 || n < 1) throw new IllegalArgumentException("nothing to launch over: " + m + " x " + n);
        long gx = ceilDiv(m, 64), gy = ceilDiv(n, 64);
        if (gx > Integer.MAX_VALUE || gy > MAX_GRID_Y) throw new IllegalArgumentException(m + " x " + n + " is too large for one launch");
        return new Launch((int) gx, (int) gy, 1, 128, 1, 0);
    }

    /**
     * native/pointwise.cu's FP32/TF32 1x1 GEMMs: 128 threads, one 64 x 64 (channels x pixels) output tile
     * each, grid (ceil(pixels / 64), ceil(n / 64), images up to the z limit; the kernel loops over
     * the images past it).
     */
    public static Launch pointwiseNchw(int pixels, int n, int images) {
        if (pixels < 1 || n < 1 || images < 1) {
            throw new IllegalArgumentException("nothing to launch over: " + images + " x " + n + " x " + pixels);
        }
        long gx = ceilDiv(pixels, 64), gy = ceilDiv(n, 64);
        if (gy > MAX_GRID_Y) throw new IllegalArgumentException(n + " output channels is too many for one launch");
        return new Launch((int) gx, (int) gy, Math.min(images, MAX_GRID_Y), 128, 1, 0);
    }

    public static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
