package dev.mnv3.cli;

import dev.mnv3.core.weights.Checkpoint;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * How a command that takes --weights opens them: safetensors or a PyTorch checkpoint, and which entry of a training
 * checkpoint ({@code --checkpoint-key}). A picocli mixin; the command declares {@code --weights} itself (required or not).
 */
public final class CheckpointOptions {
    /** What --weights says of the files it takes, for the option's description. */
    public static final String WEIGHTS_FILES = "safetensors, or a PyTorch checkpoint written by torch.save (.pth, .pt, .bin; a state_dict "
            + "or a training checkpoint holding one); torchvision, timm or sequential names.";

    @Option(names = "--checkpoint-key", paramLabel = "KEY",
            description = "The entry of a PyTorch training checkpoint that holds the model's tensors (default: the first of "
                    + "state_dict, model, model_state_dict, state_dict_ema, model_ema that holds tensors, else the file itself).")
    String key;

    /** Opens {@code weights}, saying on {@code err} where in a training checkpoint the tensors were found. */
    public Checkpoint open(Path weights, PrintWriter err) throws IOException {
        Checkpoint c = Checkpoint.open(weights, key);
        if (c.key() != null || c.strippedModulePrefix()) {
            err.println("mnv3: " + weights + ": " + c.describe());
            err.flush();
        }
        return c;
    }

    /** The --checkpoint-key given, or null for the first entry that holds tensors. */
    public String key() {
        return key;
    }
}
