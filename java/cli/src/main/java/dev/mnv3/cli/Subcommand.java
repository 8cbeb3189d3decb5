package dev.mnv3.cli;

import java.util.concurrent.Callable;

/**
 * A command that a module adds to {@code mnv3} from its own jar, as the spark module adds
 * {@code batch}: a picocli {@code @Command} class, public with a public no-argument constructor,
 * named in its jar's {@code META-INF/services/dev.mnv3.cli.Subcommand} (and in a
 * {@code provides dev.mnv3.cli.Subcommand with ...} of its module-info, where it has one).
 * {@link Main} adds every one that {@link java.util.ServiceLoader} finds after the built-in
 * commands, so a command is offered exactly where its jar is.
 *
 * <p>Its options can reuse the CLI's mixins ({@link ModelOptions}, {@link BackendOptions},
 * {@link CheckpointOptions}, {@link PreprocessingOptions}); {@link #call()} returns the exit status,
 * and a problem with what the user asked for is a {@link Main.UserError}: one line on stderr.
 */
public interface Subcommand extends Callable<Integer> {
}
