"""Local ONNX export (and int8 quantisation) of the bundled sentence encoder, cached on disk.

``build_onnx(cache_dir, spec)`` returns the path of a ready ``.onnx`` file. Models are kept
under ``cache_dir / <model name> / <fingerprint of the weights>/``, one file per export
recipe (``ExportSpec.key()``), so a changed model or recipe builds a new file instead of
silently reusing a stale one. Everything is built offline from the local weights
(``local_files_only``, ``HF_HUB_OFFLINE``); files are written under a temporary name and
renamed, so a crash never leaves a half-written model that a later run would trust.

Recipe choices, measured on banking77 test (2-core AMD EPYC, AVX512-VNNI; see
``benchmarks/topics.py``):

- int8 dynamic quantisation of the MatMul weights with per-channel scales, activations
  quantised per batch by ONNX Runtime: cosine to sentence-transformers mean 0.994 / min
  0.982. Per-tensor scales lose far more (mean 0.968 / min 0.910), as does reduce_range.
- No offline ``onnxruntime.transformers`` graph optimisation (``optimize_model``,
  model_type="bert", eager-attention export so that ``Attention`` and
  ``EmbedLayerNormalization`` fuse): on a quiet machine it was no faster than the graph ONNX
  Runtime builds itself at load time (``ORT_ENABLE_ALL`` already fuses LayerNorm, GELU and
  the quantised MatMuls): fp32 1.74x vs 1.76x, int8 3.24x vs 3.32x over sentence-transformers;
  under load it was 15-25% slower; no gain in accuracy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

_WEIGHT_FILES = ("config.json", "model.safetensors", "pytorch_model.bin")


@dataclasses.dataclass(frozen=True)
class ExportSpec:
    """How the encoder is exported; every field is part of the cache key."""

    opset: int = 17
    quantize: bool = False
    per_channel: bool = True
    weight_type: str = "QInt8"  # onnxruntime.quantization.QuantType member name
    op_types: tuple[str, ...] = ("MatMul",)
    reduce_range: bool = False

    def key(self) -> str:
        """Short stable id of the recipe (fp32 exports ignore the quantisation fields)."""
        fields = dataclasses.asdict(self)
        if not self.quantize:
            fields = {"opset": self.opset}
        else:
            import onnxruntime

            fields["onnxruntime"] = onnxruntime.__version__  # the quantiser's output may change
        blob = json.dumps(fields, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:10]

    def filename(self) -> str:
        """File name of this recipe's model inside the fingerprint folder."""
        kind = "int8" if self.quantize else "fp32"
        return f"model-{kind}-{self.key()}.onnx"


@lru_cache(maxsize=8)
def model_fingerprint(model_dir: str) -> str:
    """sha256 (16 hex digits) of the model's config and weights: the cache folder name."""
    h = hashlib.sha256()
    for name in _WEIGHT_FILES:
        path = Path(model_dir) / name
        if path.is_file():
            h.update(name.encode())
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()[:16]


def build_onnx(cache_dir: Path, model_dir: str, spec: ExportSpec, *,
               model_name: str = "model") -> Path:
    """Return the cached ONNX model for ``spec``, exporting/quantising it first if needed."""
    out_dir = Path(cache_dir) / model_name / model_fingerprint(model_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / spec.filename()
    if target.exists():
        return target
    fp32_spec = ExportSpec(opset=spec.opset)
    fp32 = out_dir / fp32_spec.filename()
    if not fp32.exists():
        _export_fp32(model_dir, fp32, spec.opset)
        _manifest(fp32, fp32_spec, model_dir)
    if spec.quantize:
        _quantize(fp32, target, spec)
        _manifest(target, spec, model_dir)
    return target


def _manifest(path: Path, spec: ExportSpec, model_dir: str) -> None:
    # For humans: what this file is and how it was made.
    info = {"spec": dataclasses.asdict(spec), "model_dir": model_dir,
            "fingerprint": model_fingerprint(model_dir),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    path.with_suffix(".json").write_text(json.dumps(info, indent=2))


def _export_fp32(model_dir: str, out: Path, opset: int) -> None:
    """Export the transformer (token embeddings out; pooling stays in numpy)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModel

    started = time.perf_counter()
    model = _encoder_for_export(AutoModel.from_pretrained(model_dir, local_files_only=True))
    model.eval()
    dummy = tuple(torch.ones((2, 8), dtype=torch.long) for _ in range(2)) + (
        torch.zeros((2, 8), dtype=torch.long),)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {0: "batch", 1: "seq"}
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    with torch.no_grad():
        torch.onnx.export(model, dummy, str(tmp), input_names=names,
                          output_names=["token_embeddings"],
                          dynamic_axes={**{k: axes for k in names}, "token_embeddings": axes},
                          opset_version=opset, dynamo=False)
    os.replace(tmp, out)
    log.info("exported %s to ONNX in %.1fs", model_dir, time.perf_counter() - started)


def _quantize(src: Path, out: Path, spec: ExportSpec) -> None:
    """int8 dynamic quantisation of the weights named by ``spec.op_types``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    started = time.perf_counter()
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    quantize_dynamic(str(src), str(tmp), weight_type=QuantType[spec.weight_type],
                     per_channel=spec.per_channel, reduce_range=spec.reduce_range,
                     op_types_to_quantize=list(spec.op_types),
                     # contrib ops (if any) defeat shape inference; their outputs are float
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    os.replace(tmp, out)
    log.info("quantised %s to int8 in %.1fs", src.name, time.perf_counter() - started)


def _encoder_for_export(model):  # noqa: ANN001, ANN202 - torch is imported lazily
    import torch

    class EncoderForExport(torch.nn.Module):
        """Calls the transformer with keyword arguments and returns the token embeddings."""

        def __init__(self, inner) -> None:  # noqa: ANN001
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN201
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    return EncoderForExport(model)
