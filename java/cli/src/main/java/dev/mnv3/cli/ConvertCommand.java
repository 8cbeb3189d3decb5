package dev.mnv3.cli;

import dev.mnv3.core.io.OutputFile;
import dev.mnv3.core.tensor.MemoryBudget;
import dev.mnv3.core.weights.Checkpoint;
import dev.mnv3.core.weights.SafeTensorsWriter;
import dev.mnv3.core.weights.SafeTensorsWriter.Blob;
import dev.mnv3.core.weights.StoredTensor;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "convert", mixinStandardHelpOptions = true, description = {
        "Write a checkpoint's tensors as safetensors, for tools that read that format.",
        "IN is a PyTorch checkpoint written by torch.save (.pth, .pt, .bin: a state_dict, or a training checkpoint holding one "
                + "under state_dict, model, model_state_dict, state_dict_ema or model_ema, or --checkpoint-key) or a safetensors "
                + "file. Every tensor is written under its name (DataParallel's module. prefixes removed) with its element type "
                + "(F32, F16, BF16; I64 for num_batches_tracked), contiguous, in the file's order.",
        "Only what a state_dict holds is unpickled (PyTorch's weights_only rule): any other object in the pickle is refused, "
                + "by name, before anything runs. Checkpoints in PyTorch's legacy format (before 1.6) and TorchScript archives "
                + "are refused with how to re-save them.",
        "OUT is never overwritten unless --force; it is written beside its place and renamed into it when complete.",
        "",
        "  ./mnv3 convert mobilenet_v3_large-8738ca79.pth mobilenet_v3_large.safetensors",
        ""})
final class ConvertCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IN", description = "The checkpoint to read.")
    Path in;

    @Parameters(index = "1", paramLabel = "OUT.safetensors", converter = OutputFilePath.class, description = "The safetensors file to write.")
    Path out;

    @Mixin
    CheckpointOptions checkpoint;

    @Option(names = "--force", description = "Replace OUT if it exists.")
    boolean force;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (!force && Files.exists(out, LinkOption.NOFOLLOW_LINKS)) {
            throw new Main.UserError(out + " exists: convert does not overwrite it (pass --force to replace it, or name another file)");
        }
        OutputFile.check(out, List.of(in)); // before the work: never the input, a directory or a device
        List<Blob> blobs = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        String description;
        try (Checkpoint c = checkpoint.open(in, spec.commandLine().getErr())) {
            long bytes = 0;
            for (StoredTensor t : c.tensors().values()) bytes = Math.addExact(bytes, Math.multiplyExact(t.numel(), t.dtype().bytes));
            MemoryBudget.reserve(bytes, "the tensors of " + in);
            for (StoredTensor t : c.tensors().values()) blobs.add(new Blob(t.name(), t.dtype(), t.shape(), t.readBytes()));
            metadata.put("format", "pt"); // what the safetensors library's PyTorch loaders expect
            metadata.put("source", in.getFileName().toString());
            description = c.describe();
        }
        SafeTensorsWriter.write(out, blobs, metadata, List.of(in));
        spec.commandLine().getOut().printf("wrote %s: %d tensors from %s (%s)%n", out, blobs.size(), in, description);
        return 0;
    }
}
