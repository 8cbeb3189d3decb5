"""Tests of results_json.py on hand-written lines, no GPU needed."""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results_json  # noqa: E402


class ResultsJsonTest(unittest.TestCase):
    def test_mnv3_and_torch_lines_become_measurements_of_two_engines(self):
        lines = [
            {"model": "large", "backend": "cuda", "precision": "fp16", "cuda_graphs": True, "batch": 8,
             "images_per_second": 9000.0, "p50_ms": 0.9, "p99_ms": 1.0},
            {"peer": "eager-fp16-cl", "precision": "fp16", "batch": 8, "size": "224x224", "device": "NVIDIA H100",
             "torch": "2.5.1", "images_per_second": 4000.0, "p50_ms": 2.0, "p99_ms": 2.5},
            {"peer": "compile-fp16-cl", "precision": "fp16", "batch": 64, "error": "torch.compile failed"},
            {"source": "torch", "error": "timed out"},
        ]
        with tempfile.TemporaryDirectory() as d:
            src, out = os.path.join(d, "lines.json"), os.path.join(d, "results.json")
            with open(src, "w") as f:
                f.write("a log line\n" + "\n".join(json.dumps(x) for x in lines) + "\n")
            self.assertEqual(0, results_json.main([out, src]))
            with open(out) as f:
                r = json.load(f)
        self.assertEqual("mnv3-bench-results/1", r["format"])
        self.assertEqual(["mnv3", "torch eager-fp16-cl", "torch compile-fp16-cl"], [m["engine"] for m in r["measurements"]])
        peer = r["measurements"][1]
        self.assertEqual((224, 224, "cuda"), (peer["height"], peer["width"], peer["backend"]))
        self.assertNotIn("size", peer)
        self.assertEqual("NVIDIA H100", r["machine"]["gpu"])
        self.assertEqual("PyTorch 2.5.1", r["machine"]["peer"])


if __name__ == "__main__":
    unittest.main()
