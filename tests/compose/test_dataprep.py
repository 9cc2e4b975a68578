"""A data run's command: NeMo's preprocessing script with the recipe's arguments, between runrepo's own
fetch and publish steps (compose/datajob.py), run here with bash and a stand-in for NeMo's script that
writes the .bin/.idx pair in the format NeMo's MMapIndexedDataset reads."""

from __future__ import annotations

import ast
import gzip
import shlex
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from runrepo.compose import datajob, dataprep
from runrepo.compose.datasets import catalog
from runrepo.compose.engine import compose
from runrepo.compose.layers import TreeSource
from runrepo.compose.resolve import resolve

MAGIC = b"MMIDIDX\x00\x00"
# NeMo's script as far as the command uses it: its flags (preprocess_data_for_megatron.py's argparse) and
# its output, OUTPUT_PREFIX_<key>_document.bin/.idx, one uint16 token per byte of each document's text.
STAND_IN = r'''
import argparse, json, struct, sys
p = argparse.ArgumentParser()
p.add_argument("--input", required=True)
p.add_argument("--json-keys", nargs="+", default=["text"])
p.add_argument("--tokenizer-library", required=True, choices=["sentencepiece", "megatron", "huggingface"])
p.add_argument("--tokenizer-type"); p.add_argument("--tokenizer-model")
p.add_argument("--vocab-file"); p.add_argument("--merge-file")
p.add_argument("--append-eod", action="store_true")
p.add_argument("--output-prefix", required=True)
p.add_argument("--dataset-impl", default="mmap", choices=["lazy", "cached", "mmap"])
p.add_argument("--workers", type=int, default=1)
a = p.parse_args()
assert a.tokenizer_type is not None or a.tokenizer_model is not None
sizes, docs = [], [0]
prefix = f"{a.output_prefix}_{a.json_keys[0]}_document"
with open(prefix + ".bin", "wb") as out:
    for line in open(a.input, encoding="utf-8"):
        ids = list(json.loads(line)[a.json_keys[0]].encode()) + ([0] if a.append_eod else [])
        out.write(struct.pack(f"<{len(ids)}H", *ids)); sizes.append(len(ids)); docs.append(len(sizes))
    BROKEN
with open(prefix + ".idx", "wb") as f:
    f.write(b"MMIDIDX\x00\x00" + struct.pack("<QBQQ", 1, 8, len(sizes), len(docs)))
    pointers = [sum(sizes[:i]) * 2 for i in range(len(sizes))]
    f.write(struct.pack(f"<{len(sizes)}i", *sizes) + struct.pack(f"<{len(sizes)}q", *pointers)
            + struct.pack(f"<{len(docs)}q", *docs))
print(" ".join(sys.argv[1:]))
'''


def write_pair(prefix: Path, docs: list[list[int]]) -> None:
    """A .bin/.idx pair as NeMo's MMapIndexedDatasetBuilder writes it (uint16 tokens, one sequence a doc)."""
    sizes = [len(d) for d in docs]
    prefix.with_suffix(".bin").write_bytes(b"".join(struct.pack(f"<{len(d)}H", *d) for d in docs))
    pointers = [2 * sum(sizes[:i]) for i in range(len(sizes))]
    index = list(range(len(docs) + 1))
    prefix.with_suffix(".idx").write_bytes(
        MAGIC + struct.pack("<QBQQ", 1, 8, len(sizes), len(index)) + struct.pack(f"<{len(sizes)}i", *sizes)
        + struct.pack(f"<{len(sizes)}q", *pointers) + struct.pack(f"<{len(index)}q", *index))


def test_the_job_is_python_3_8(tmp_path):
    """It runs under the image's python3: NeMo 22.x images ship 3.8."""
    source = Path(datajob.__file__).read_text()
    ast.parse(source, feature_version=(3, 8))
    assert "removeprefix" not in source and "removesuffix" not in source and "match " not in source


def test_check_pair_reads_what_nemo_writes_and_refuses_the_rest(tmp_path):
    prefix = tmp_path / "d_text_document"
    write_pair(prefix, [[1, 2, 3], [4, 5]])
    assert datajob.check_pair(str(prefix)) == (2, 2)
    data = prefix.with_suffix(".bin")
    data.write_bytes(data.read_bytes()[:-2])
    with pytest.raises(datajob.JobError, match="its index says 10"):
        datajob.check_pair(str(prefix))
    write_pair(prefix, [])
    with pytest.raises(datajob.JobError, match="holds no document"):
        datajob.check_pair(str(prefix))
    write_pair(prefix, [[1]])
    idx = prefix.with_suffix(".idx")
    idx.write_bytes(b"TNTIDX\x00\x00\x00" + idx.read_bytes()[9:])
    with pytest.raises(datajob.JobError, match="not an MMIDIDX index"):
        datajob.check_pair(str(prefix))


def test_publish_copies_checks_and_never_overwrites_another_dataset(tmp_path):
    local, dest = tmp_path / "out" / "d_text_document", tmp_path / "mnt" / "d" / "d_text_document"
    local.parent.mkdir()
    write_pair(local, [[1, 2, 3], [4, 5]])
    datajob.publish(str(local), str(dest), "runrepo-t")
    assert dest.with_suffix(".bin").read_bytes() == local.with_suffix(".bin").read_bytes()
    assert sorted(p.name for p in dest.parent.iterdir()) == ["d_text_document.bin", "d_text_document.idx"]
    datajob.publish(str(local), str(dest), "runrepo-t2")  # the same dataset again: a rerun, nothing to do
    write_pair(local, [[9, 9]])
    with pytest.raises(datajob.JobError, match="holds another dataset: not overwritten"):
        datajob.publish(str(local), str(dest), "runrepo-t3")
    assert datajob.check_pair(str(dest)) == (2, 2)


def test_fetch_concatenates_one_document_per_line(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl.gz"
    a.write_text('{"text": "one"}')  # no newline at the end
    b.write_bytes(gzip.compress(b'{"text": "two"}\n'))
    out = tmp_path / "in.jsonl"
    datajob.fetch(str(out), [str(a), str(b)])
    assert out.read_text() == '{"text": "one"}\n{"text": "two"}\n'
    assert datajob.main(["fetch", str(out), str(tmp_path / "missing.jsonl")]) == 1


def _command(repo: Path, tmp: Path, inputs: list[Path], broken: bool = False) -> tuple[str, Path]:
    """The bundled data run's command, with local inputs and output, NeMo's script replaced by the stand-in
    and the work folder moved into the test's own folder; (command, dataset prefix)."""
    rel = repo / "runs" / "data" / "wiki_gpt2.yaml"
    out = tmp / "mnt" / "wiki" / "wiki_gpt2"
    rel.write_text(rel.read_text().replace("    - s3://my-bucket/wikipedia/train_data.jsonl\n",
                                            "".join(f"    - {p}\n" for p in inputs))
                   .replace("output_prefix: /mnt/data/wiki/wiki_gpt2", f"output_prefix: {out}"))
    source = TreeSource(repo)
    run = resolve(compose(source, "data/wiki_gpt2"), catalog(source)).run
    script = tmp / "preprocess_data_for_megatron.py"
    script.write_text(STAND_IN.replace("BROKEN", "out.write(b'x')" if broken else "pass"))
    nemo = "/workspace/nemo/" + dataprep.SCRIPT
    assert f"python3 {nemo} --input=/tmp/runrepo-data/input.jsonl --json-keys=text --tokenizer-library=megatron " \
           "--tokenizer-type=GPT2BPETokenizer --vocab-file=/mnt/data/bpe/gpt2-vocab.json " \
           "--merge-file=/mnt/data/bpe/gpt2-merges.txt --dataset-impl=mmap --append-eod " \
           "--output-prefix=/tmp/runrepo-data/out/wiki_gpt2 --workers=32" in run["command"]
    command = run["command"].replace(nemo, shlex.quote(str(script))).replace(dataprep.WORK, str(tmp / "work"))
    return command, Path(f"{out}_text_document")


def test_the_rendered_command_runs_fetch_nemo_check_publish(tmp_path, repo):
    src = tmp_path / "src.jsonl"
    src.write_text('{"text": "hello"}\n{"text": "world!"}\n')
    command, dataset = _command(repo, tmp_path, [src])
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "RUN_NAME": "data-wiki-gpt2-abc123"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert datajob.check_pair(str(dataset)) == (2, 2)
    assert f"runrepo data: {dataset} holds 2 documents, 2 sequences" in done.stdout
    assert sorted(p.name for p in dataset.parent.iterdir()) == ["wiki_gpt2_text_document.bin", "wiki_gpt2_text_document.idx"]


def test_a_broken_pair_is_never_published(tmp_path, repo):
    src = tmp_path / "src.jsonl"
    src.write_text('{"text": "hello"}\n')
    command, dataset = _command(repo, tmp_path, [src], broken=True)
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"})
    assert done.returncode == 1 and "runrepo data: error: JobError:" in done.stderr
    assert not dataset.parent.exists()
