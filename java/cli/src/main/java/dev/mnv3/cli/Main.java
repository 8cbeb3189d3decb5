package dev.mnv3.cli;

import dev.mnv3.core.backend.BackendUnavailableException;
import dev.mnv3.core.weights.SafeTensorsFormatException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code mnv3} command line. Errors print one clear message on stderr; --verbose adds the stack trace. */
@Command(name = "mnv3", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"MobileNetV3 inference on the JVM: a pure-Java CPU backend and a CUDA backend.", ""},
        subcommands = {InfoCommand.class, DemoCommand.class, RunCommand.class, ClassifyCommand.class, BenchCommand.class,
                CrossCheckCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Run 'mnv3 COMMAND --help' for a command's options."})
public final class Main implements Runnable {
    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT, description = "Print stack traces on errors.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        // the libraries' log lines (e.g. the CUDA backend saying it runs without cuDNN) as one line each, like ours
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "mnv3: %5$s%6$s%n");
        }
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI with the given streams and returns the exit code (tests call this). */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        Main main = new Main();
        CommandLine cl = new CommandLine(main);
        // serve is left out of the GPU kit's jar (its HTTP and gRPC libraries would not fit): offered where its classes are
        if (Main.class.getClassLoader().getResource("dev/mnv3/serve/InferenceServer.class") != null) cl.addSubcommand(new ServeCommand());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("mnv3: " + describe(ex));
            if (main.verbose) ex.printStackTrace(commandLine.getErr());
            commandLine.getErr().flush();
            return 1;
        });
        return cl.execute(args);
    }

    /** One message for the user: what went wrong and with which file. */
    static String describe(Throwable ex) {
        return switch (ex) {
            case NoSuchFileException e -> "file not found: " + e.getFile();
            case AccessDeniedException e -> "permission denied: " + e.getFile();
            case SafeTensorsFormatException e -> e.getMessage();
            case BackendUnavailableException e -> e.getMessage();
            case UserError e -> e.getMessage();
            case IllegalArgumentException e -> e.getMessage();
            case java.io.IOException e -> "I/O error: " + e.getMessage();
            default -> "internal error: " + ex + " (run with --verbose for the stack trace)";
        };
    }

    /** A problem with what the user asked for, reported as its message alone. */
    static final class UserError extends RuntimeException {
        UserError(String message) {
            super(message);
        }

        UserError(String message, Throwable cause) {
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
