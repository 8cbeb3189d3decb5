import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * How long serve takes to read one KServe JSON request body (InferRequestJson.read), alone: the
 * median of 40 reads after 40 warm-up reads, on one thread. Run with a server build's jar, each
 * build in its own JVM and alternated, e.g. with the body overload.py writes:
 *
 *     java -cp BEFORE.jar benchmarks/serve/ParseTime.java request.json before
 *     java -cp AFTER.jar benchmarks/serve/ParseTime.java request.json after
 */
public class ParseTime {
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: java -cp MNV3.jar ParseTime.java BODY.json LABEL");
            System.exit(2);
        }
        byte[] body = Files.readAllBytes(Path.of(args[0]));
        Method read = Class.forName("dev.mnv3.serve.rest.InferRequestJson").getMethod("read", byte[].class, int.class);
        for (int i = 0; i < 40; i++) read.invoke(null, body, body.length);
        double[] ms = new double[40];
        for (int i = 0; i < ms.length; i++) {
            long start = System.nanoTime();
            read.invoke(null, body, body.length);
            ms[i] = (System.nanoTime() - start) / 1e6;
        }
        Arrays.sort(ms);
        System.out.printf("%s %.2f ms (p10 %.2f)%n", args[1], ms[ms.length / 2], ms[ms.length / 10]);
    }
}
