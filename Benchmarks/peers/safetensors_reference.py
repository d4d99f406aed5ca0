#!/usr/bin/env python3
"""Writes Tests/TensorEngineTests/Resources/reference.safetensors with the `safetensors`
package (the format's reference writer, torch flavour for bfloat16): one tensor of every
dtype the engine reads, with values given by closed formulas that SafetensorsTests
recomputes on its own, so the engine's reader is checked against a file it did not write.

    .venv/bin/python3 Benchmarks/peers/safetensors_reference.py   # needs torch + safetensors
"""
import os

import torch
from safetensors.torch import save_file

out = os.path.join(os.path.dirname(__file__), "../../Tests/TensorEngineTests/Resources/reference.safetensors")

i = torch.arange(24, dtype=torch.float64)
tensors = {
    # value_k = (k - 11.5) / 4, exact in every float type used here
    "float32": ((i - 11.5) / 4).to(torch.float32).reshape(2, 3, 4),
    "float16": ((i[:10] - 11.5) / 4).to(torch.float16).reshape(10),
    "bfloat16": ((i[:6] - 11.5) / 4).to(torch.bfloat16).reshape(3, 2),
    "float64": ((i[:5] - 11.5) / 4).reshape(5),
    "int32": (torch.arange(7, dtype=torch.int32) * 1000003 - 3000000),
    "int64": torch.arange(512, dtype=torch.int64).reshape(1, 512),   # like BERT's position_ids
    "uint8": (torch.arange(9, dtype=torch.int32) * 31 % 256).to(torch.uint8).reshape(3, 3),
    "bool": torch.tensor([True, False, False, True]),
    "scalar": torch.tensor(2.5, dtype=torch.float32),
    "empty": torch.zeros(0, 3, dtype=torch.float32),
}
save_file(tensors, os.path.normpath(out), metadata={"format": "pt", "made_by": "safetensors_reference.py"})
print("wrote", os.path.normpath(out), os.path.getsize(out), "bytes")
