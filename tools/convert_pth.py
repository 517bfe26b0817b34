#!/usr/bin/env python3
"""Convert a PyTorch checkpoint (.pth) of the KD benchmark's zoo to safetensors.

Needs only Python and PyTorch (Debian: apt-get install python3-torch). Handles
RepDistiller/mdistiller teachers ({"model": state_dict, ...}), bare state_dicts
(torchdistill), DataParallel "module." prefixes and mdistiller's full distiller
checkpoints (select --prefix student or teacher). Buffers are kept;
num_batches_tracked may be absent (PyTorch < 0.4.1) and retort then uses 0.

    python3 tools/convert_pth.py resnet56_vanilla/ckpt_epoch_240.pth resnet56.safetensors --arch resnet56
    retort eval --model resnet56 --weights resnet56.safetensors --data cifar100:DIR

With --check, the keys and shapes are compared against
../shared/reference/cifar_zoo_state_dict_keys.json (or --reference FILE) before
anything is written. The output records arch, num_classes and the source in
its metadata and the script prints its SHA-256.
"""
import argparse
import hashlib
import json
import os
import struct
import sys


def load_state_dict(path, prefix):
    import torch  # imported here so --help works without PyTorch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:  # PyTorch < 1.13 has no weights_only
        obj = torch.load(path, map_location="cpu")
    sd = obj["model"] if isinstance(obj, dict) and "model" in obj else obj
    if not isinstance(sd, dict):
        sys.exit(f"{path}: expected a state_dict or a dict with 'model', found {type(sd).__name__}")
    out = {}
    for key, value in sd.items():
        if key.startswith("module."):
            key = key[len("module."):]
        if prefix:
            if not key.startswith(prefix + "."):
                continue
            key = key[len(prefix) + 1:]
        if not hasattr(value, "dtype"):
            continue
        out[key] = value
    if not out:
        sys.exit(f"{path}: no tensors left" + (f" under the prefix '{prefix}'" if prefix else ""))
    return out


def to_bytes(tensor):
    import torch

    t = tensor.detach().cpu().contiguous()
    if t.dtype in (torch.float16, torch.bfloat16, torch.float64):
        t = t.float()
    names = {torch.float32: "F32", torch.int64: "I64", torch.uint8: "U8"}
    if t.dtype not in names:
        sys.exit(f"unsupported dtype {t.dtype}")
    return names[t.dtype], list(t.shape), t.numpy().tobytes()


def check_against_reference(sd, arch, reference):
    with open(reference) as f:
        models = json.load(f)["models"]
    if arch not in models:
        print(f"note: {arch} is not in {reference}; keys not checked")
        return
    expected = {k: s for k, s, _ in models[arch]["keys"]}
    problems = []
    for key, shape in expected.items():
        if key not in sd:
            if not key.endswith("num_batches_tracked"):
                problems.append(f"missing {key}")
        elif key.endswith(".weight") and key.startswith(("fc", "classifier", "linear")):
            if list(sd[key].shape)[1:] != shape[1:]:
                problems.append(f"{key}: expected [*, {shape[1]}], found {list(sd[key].shape)}")
        elif list(sd[key].shape) != shape and not key.endswith(".bias"):
            problems.append(f"{key}: expected {shape}, found {list(sd[key].shape)}")
    problems += [f"unexpected {k}" for k in sd if k not in expected]
    if problems:
        sys.exit(f"the checkpoint does not fit {arch}: " + "; ".join(problems[:10]))


def write_safetensors(path, sd, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for key, value in sd.items():
        dtype, shape, data = to_bytes(value)
        header[key] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help=".pth checkpoint")
    p.add_argument("output", help="safetensors file to write")
    p.add_argument("--arch", required=True, help="zoo name of the architecture, e.g. resnet56")
    p.add_argument("--prefix", default="", help="keep only keys under this prefix (mdistiller: student or teacher)")
    p.add_argument("--check", action="store_true", help="compare keys and shapes with the reference list")
    p.add_argument("--reference", default=os.path.join(here, "..", "..", "shared", "reference",
                                                       "cifar_zoo_state_dict_keys.json"))
    args = p.parse_args()

    sd = load_state_dict(args.input, args.prefix)
    if args.check:
        check_against_reference(sd, args.arch, args.reference)
    classifier = [v for k, v in sd.items() if k.endswith(".weight") and k.split(".")[0] in ("fc", "classifier", "linear")]
    metadata = {"format": "retort", "arch": args.arch, "source": os.path.basename(args.input)}
    if classifier:
        metadata["num_classes"] = str(classifier[-1].shape[0])
    write_safetensors(args.output, sd, metadata)
    digest = hashlib.sha256(open(args.output, "rb").read()).hexdigest()
    print(f"wrote {args.output}: {len(sd)} tensors, arch {args.arch}, sha256 {digest}")


if __name__ == "__main__":
    main()
