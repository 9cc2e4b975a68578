"""The part of a data run that runs inside its container, around NeMo's preprocess_data_for_megatron.py.

Its source is written into the data run's command (dataprep.command), so it runs under the NeMo image's
own python3 (3.8 in the 22.x images): standard library only, nothing newer than 3.8.

  fetch DEST INPUT...   the jsonl inputs (absolute paths, s3://bucket/key through boto3, which NeMo's
                        images install, or https://), .gz decompressed, concatenated into DEST, each
                        ending in a newline so that two documents never share a line
  publish LOCAL DEST    LOCAL.bin/.idx checked as NeMo's MMapIndexedDataset reads them, copied to
                        DEST.bin/.idx under temporary names, the copies compared byte for byte, then
                        renamed into place: DEST never holds a partial file. A different dataset
                        already at DEST is never overwritten (training runs may be reading it).
"""

from __future__ import annotations

import array
import gzip
import hashlib
import os
import shutil
import struct
import sys
import urllib.request
from typing import BinaryIO

MAGIC = b"MMIDIDX\x00\x00"  # NeMo's MMapIndexedDataset.Index._HDR_MAGIC
ITEMSIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 8: 2}  # NeMo's integer dtype codes -> bytes per token
HEADER = len(MAGIC) + 8 + 1 + 8 + 8  # magic, version, dtype code, sequence count, document count


class JobError(Exception):
    """What stops the data run, in one line."""


def _open(source: str) -> BinaryIO:
    if source.startswith("s3://"):
        # in NeMo's images (the nlp extra), not here; credentials from `mcli create secret s3`
        import boto3  # type: ignore[import-not-found]

        bucket, _, key = source[len("s3://"):].partition("/")
        body: BinaryIO = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        return body
    if source.startswith("https://"):
        got: BinaryIO = urllib.request.urlopen(source, timeout=600)  # noqa: S310 (https only)
        return got
    return open(source, "rb")


def fetch(dest: str, sources: list[str]) -> int:
    """Concatenate the inputs into `dest`; the number of bytes written."""
    written = 0
    with open(dest, "wb") as out:
        for source in sources:
            raw = _open(source)
            stream: BinaryIO = gzip.GzipFile(fileobj=raw) if source.endswith(".gz") else raw  # type: ignore[assignment]
            last = b"\n"
            with raw:
                while True:
                    chunk = stream.read(1 << 20)
                    if not chunk:
                        break
                    out.write(chunk)
                    written += len(chunk)
                    last = chunk[-1:]
            if last != b"\n":
                out.write(b"\n")
                written += 1
            print(f"runrepo data: fetched {source}", flush=True)
    if written == 0:
        raise JobError("the inputs hold no data")
    return written


def check_pair(prefix: str) -> tuple[int, int]:
    """(sequences, documents) of PREFIX.idx/.bin, after checking the pair is one NeMo can read."""
    idx, data = prefix + ".idx", prefix + ".bin"
    for path in (idx, data):
        if not os.path.isfile(path):
            raise JobError(f"{path} was not written")
    with open(idx, "rb") as f:
        head = f.read(HEADER)
        if len(head) < HEADER or head[: len(MAGIC)] != MAGIC:
            raise JobError(f"{idx} is not an MMIDIDX index (NeMo's mmap dataset)")
        version, code, count, docs = struct.unpack("<QBQQ", head[len(MAGIC):])
        if version != 1 or code not in ITEMSIZE:
            raise JobError(f"{idx}: version {version}, dtype code {code}: not a token index NeMo reads")
        if os.path.getsize(idx) != HEADER + 4 * count + 8 * count + 8 * docs:
            raise JobError(f"{idx} is truncated or padded: its header counts {count} sequences, {docs} documents")
        if count == 0 or docs < 2:
            raise JobError(f"{idx} holds no document: the inputs gave no text under the json key")
        sizes = array.array("i")  # int32 sequence lengths, little-endian on disk
        sizes.frombytes(f.read(4 * count))
        if sys.byteorder != "little":
            sizes.byteswap()
        tokens = sum(sizes)
        f.seek(HEADER + 12 * count + 8 * (docs - 1))
        (last_doc,) = struct.unpack("<q", f.read(8))
    if last_doc != count:
        raise JobError(f"{idx}: the document index ends at {last_doc}, not at its {count} sequences")
    if os.path.getsize(data) != tokens * ITEMSIZE[code]:
        raise JobError(f"{data} holds {os.path.getsize(data)} bytes; its index says {tokens * ITEMSIZE[code]}")
    return count, docs - 1


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def publish(local: str, dest: str, tag: str) -> None:
    """Copy the checked pair LOCAL -> DEST, verified, renamed into place; .bin before .idx."""
    count, docs = check_pair(local)
    folder = os.path.dirname(dest)
    if folder:
        os.makedirs(folder, exist_ok=True)
    for ext in (".bin", ".idx"):
        src, final, tmp = local + ext, dest + ext, f"{dest}{ext}.{tag}.partial"
        want = _sha256(src)
        if os.path.exists(final):
            if _sha256(final) != want:
                raise JobError(f"{final} exists and holds another dataset: not overwritten (training runs may read "
                               "it); give the data run a new output_prefix")
            print(f"runrepo data: {final} is already this dataset", flush=True)
            continue
        shutil.copyfile(src, tmp)
        if os.path.getsize(tmp) != os.path.getsize(src) or _sha256(tmp) != want:
            os.remove(tmp)
            raise JobError(f"the copy of {src} at {tmp} differs from it")
        os.replace(tmp, final)
        print(f"runrepo data: wrote {final} (sha256 {want})", flush=True)
    check_pair(dest)
    print(f"runrepo data: {dest} holds {docs} documents, {count} sequences", flush=True)


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["fetch"] and len(argv) >= 3:
            fetch(argv[1], argv[2:])
        elif argv[:1] == ["publish"] and len(argv) == 4:
            publish(argv[1], argv[2], argv[3])
        else:
            raise JobError("usage: fetch DEST INPUT... | publish LOCAL DEST TAG")
    except Exception as e:  # noqa: BLE001 (one line in the run's log, whatever failed)
        print(f"runrepo data: error: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
