package dev.mnv3.cli;

import dev.mnv3.core.backend.BackendUnavailableException;
import dev.mnv3.core.image.ImageDecodeException;
import dev.mnv3.core.weights.CheckpointFormatException;
import dev.mnv3.core.tensor.MemoryBudget;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code mnv3} command line. Errors print one clear message on stderr; --verbose adds the stack trace. */
@Command(name = "mnv3", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"MobileNetV3 inference on the JVM: a pure-Java CPU backend and a CUDA backend.", ""},
        subcommands = {InfoCommand.class, DemoCommand.class, RunCommand.class, ClassifyCommand.class, BenchCommand.class,
                CrossCheckCommand.class, ConvertCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Run 'mnv3 COMMAND --help' for a command's options."})
public final class Main implements Runnable {
    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT, description = "Print stack traces on errors.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Whether a write to stdout failed and was reported: the output is not flushed again. */
    private boolean writeFailed;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        // the libraries' log lines (e.g. the CUDA backend saying it runs without cuDNN) as one line each, like ours
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "mnv3: %5$s%6$s%n");
        }
        PrintWriter out = new PrintWriter(new CheckedOutput(new OutputStreamWriter(new FileOutputStream(FileDescriptor.out),
                System.out.charset()), "stdout"), true);
        RawArguments.recover(args);
        System.exit(execute(args, out, new PrintWriter(System.err, true)));
    }

    /** Runs the CLI with the given streams and returns the exit code (tests call this). */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        Main main = new Main();
        CommandLine cl = new CommandLine(main);
        addSubcommands(cl);
        cl.registerConverter(Path.class, RawArguments::path); // after the subcommands: picocli gives it to those it has
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> fail(main, commandLine.getErr(), ex));
        // printing --help or --version fails outside the commands: told the same way, not as picocli's stack trace
        cl.setExecutionStrategy(parseResult -> {
            try {
                return new CommandLine.RunLast().execute(parseResult);
            } catch (CheckedOutput.Failed e) {
                throw new CommandLine.ExecutionException(cl, e.getMessage(), e);
            }
        });
        cl.setParameterExceptionHandler((ex, arguments) -> {
            // one line and where to look, not the whole usage text
            CommandLine c = ex.getCommandLine();
            String typo = unknownOption(c, arguments);
            if (ex instanceof CommandLine.MissingParameterException && typo != null) {
                // "--ouput x" also leaves --output missing: the typo is what the user needs to hear about
                ex = new CommandLine.UnmatchedArgumentException(c, java.util.List.of(typo));
            }
            String hint = "";
            if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
                hint = " (did you mean " + String.join(" or ", u.getSuggestions()) + "?)";
            }
            c.getErr().println("mnv3: " + oneLine(ex.getMessage()) + hint + "; see '" + c.getCommandSpec().qualifiedName()
                    + " --help'");
            c.getErr().flush();
            return 2;
        });
        int code;
        try {
            code = cl.execute(args);
            if (main.writeFailed) return code; // said once
            out.flush();
        } catch (RuntimeException | Error e) { // picocli passes Errors (out of memory, a fault in a mapped file) through: still one line
            return fail(main, err, e);
        }
        // a writer that keeps its errors to itself (a test's, or one a caller made): the output is still incomplete
        if (out.checkError()) return fail(main, err, new CheckedOutput.Failed("stdout", new java.io.IOException("write failed")));
        return code;
    }

    /**
     * The commands of the jars here ({@link Subcommand}): serve from this module's (left out of the GPU
     * kit's jar and the Spark job's, which lack its HTTP and gRPC libraries), batch from the spark
     * module's, which only {@code ./mnv3 batch} and spark-submit put on the class path; without it the
     * help says how to get it.
     */
    private static void addSubcommands(CommandLine cl) {
        Iterator<Subcommand> found = ServiceLoader.load(Subcommand.class, Main.class.getClassLoader()).iterator();
        while (true) {
            try {
                if (!found.hasNext()) break;
                cl.addSubcommand(found.next());
            } catch (ServiceConfigurationError | NoClassDefFoundError e) {
                // a command listed where its libraries are not (serve beside the spark module's tests, which leave serve out)
                if (!missingClass(e)) throw e;
            }
        }
        if (!cl.getSubcommands().containsKey("batch")) {
            cl.getCommandSpec().usageMessage().footer("", "Run 'mnv3 COMMAND --help' for a command's options.",
                    "Batch inference on Apache Spark: './mnv3 batch --help' (the launcher adds Spark's jars for it).");
        }
    }

    private static boolean missingClass(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) if (t instanceof NoClassDefFoundError) return true;
        return false;
    }

    /** The first argument that looks like an option but is none of {@code c}'s, or null. */
    private static String unknownOption(CommandLine c, String[] arguments) {
        for (String a : arguments) {
            String name = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
            if (name.matches("--?[A-Za-z][\\w-]*") && !c.getCommandSpec().optionsMap().containsKey(name)) return name;
        }
        return null;
    }

    private static int fail(Main main, PrintWriter err, Throwable ex) {
        CheckedOutput.Failed write = CheckedOutput.Failed.in(ex);
        main.writeFailed |= write != null;
        if (write != null && write.brokenPipe()) return BROKEN_PIPE; // the reader has what it wanted (| head): no message
        err.println("mnv3: " + describe(ex, main.verbose));
        if (main.verbose) ex.printStackTrace(err);
        err.flush();
        return 1;
    }

    private static final String VERBOSE_HINT = " (run with --verbose for the stack trace)";

    /** The exit status of a command ended by SIGPIPE, as the shell reports it: 128 + 13. */
    static final int BROKEN_PIPE = 141;

    /** A warning line on stderr. */
    static void warn(PrintWriter err, String message) {
        err.println("mnv3: warning: " + oneLine(message));
        err.flush();
    }

    private static String oneLine(String s) {
        if (s == null) return "";
        String line = s.strip().replaceAll("\\s*\\R\\s*", " ");
        // a name from a file or argument may hold NUL, escapes or bidi overrides (U+202E): shown, never obeyed by the terminal
        return CONTROL.matcher(line).replaceAll(m -> String.format("\\\\u%04X", (int) m.group().charAt(0)));
    }

    private static final java.util.regex.Pattern CONTROL = java.util.regex.Pattern.compile("[\\p{Cc}\\p{Cf}&&[^\\t]]");

    /** {@link #describe(Throwable)}, without the hint to ask for the stack trace when it follows (--verbose). */
    static String describe(Throwable ex, boolean verbose) {
        return verbose ? describe(ex).replace(VERBOSE_HINT, "") : describe(ex);
    }

    /** One message for the user: what went wrong and with which file, naming flags where the library names fields. */
    static String describe(Throwable ex) {
        CheckedOutput.Failed write = CheckedOutput.Failed.in(ex);
        if (write != null) return oneLine(write.describe());
        return LibraryTerms.inFlags(oneLine(switch (ex) {
            case NoSuchFileException e -> "file not found: " + e.getFile();
            case AccessDeniedException e -> "permission denied: " + e.getFile();
            case FileSystemException e -> e.getMessage(); // "FILE: what is wrong with it"
            case CheckpointFormatException e -> e.getMessage(); // safetensors and PyTorch files alike
            case BackendUnavailableException e -> e.getMessage();
            case UserError e -> e.getMessage();
            case ImageDecodeException e -> e.getMessage();
            case UnsupportedOperationException e when e.getMessage() != null -> e.getMessage();
            case IllegalArgumentException e -> e.getMessage();
            case UncheckedIOException e -> describe(e.getCause());
            case java.io.IOException e -> "I/O error: " + e.getMessage();
            case OutOfMemoryError e -> "out of memory (" + e.getMessage() + "): the JVM may use at most "
                    + MemoryBudget.format(Runtime.getRuntime().maxMemory()) + "; raise it with -Xmx, for ./mnv3 with "
                    + "MNV3_JAVA_OPTS=-Xmx<size>, or use a smaller batch or input";
            case StackOverflowError e -> "internal error: stack overflow" + VERBOSE_HINT;
            case InternalError e when String.valueOf(e.getMessage()).contains("unsafe memory access") ->
                    "a file mnv3 had mapped changed or shrank while it was read (another program writing it?)";
            default -> "internal error: " + ex + VERBOSE_HINT;
        }));
    }

    /** A problem with what the user asked for, reported as its message alone (one line on stderr, exit status 1). */
    public static final class UserError extends RuntimeException {
        /** The message names the option or file and what is wrong with it. */
        public UserError(String message) {
            super(message);
        }

        /** The same, keeping the exception that told (shown with --verbose). */
        public UserError(String message, Throwable cause) {
            super(message, cause);
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"mnv3 " + (v != null ? v : "(development build)") + ", Java " + Runtime.version()};
        }
    }
}
