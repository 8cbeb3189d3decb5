package dev.mnv3.api;

/**
 * One class of an image's result: the class index in the model's output, its label, and the
 * softmax probability the model gives it.
 *
 * @param index       the class, from 0 to the model's classes - 1
 * @param label       its name (ImageNet's for a 1000-class model, else the labels given, else "class N")
 * @param probability from 0 to 1 (NaN when the logits were not finite)
 */
public record Classification(int index, String label, double probability) {
}
