"""`runrepo plan` of data runs and the training runs that read them: which data each run needs, where it
stands (from git; from the platform in tests/lifecycle/test_status_data.py), and the checks that hold a
pull request (a tokenizer that differs from its data's)."""

from __future__ import annotations

import json

from plan_helpers import DATA_EXAMPLE, commit, edit, git, main_repo
from runrepo.plan.plan import plan
from runrepo.plan.render import markdown, text
from runrepo_testing import ROOT

DATA, READER = DATA_EXAMPLE
T2 = "runs/experiments/wiki-2node.yaml"


def _rows(p) -> dict:
    return {r.path: r for r in p.runs}


def test_a_pull_request_adding_a_data_run_and_its_reader(tmp_path):
    repo = main_repo(tmp_path / "r")
    main = git(repo, "rev-parse", "HEAD").strip()
    for rel in DATA_EXAMPLE:
        (repo / rel).write_text((ROOT / rel).read_text())
    commit(repo, "the data example")
    p = plan(repo, main)
    rows = _rows(p)
    assert p.exit_code == 0 and rows[DATA].submitted and rows[READER].submitted
    assert rows[DATA].memory is None and rows[READER].memory  # a data run trains nothing
    (need,) = rows[READER].needs
    assert need["name"] == "wiki_gpt2" and need["file"] == DATA and need["dataset"].startswith("sha256:")
    assert need["state"] == "submitted by this merge: the run waits until it has completed"
    md = markdown(p)
    assert "#### Data the runs read" in md
    assert f"- `{READER}` reads `wiki_gpt2` (`{DATA}`): submitted by this merge" in md
    assert f"   reads data: wiki_gpt2 ({DATA}): submitted by this merge" in text(p)
    assert json.loads(json.dumps(rows[READER].as_dict(), default=str))["needs"][0]["name"] == "wiki_gpt2"


def test_a_reader_of_data_already_on_main_and_an_edited_recipe(tmp_path):
    repo = main_repo(tmp_path / "r", data=True)
    runs = repo / "runs"
    base = git(repo, "rev-parse", "HEAD").strip()
    (runs / "experiments" / "wiki-2node.yaml").write_text(
        (runs / "experiments" / "gpt3-126m-wiki.yaml").read_text().replace("gpt3-126m-wiki", "wiki-2node"))
    commit(repo, "another run on the same data")
    (need,) = _rows(plan(repo, base))[T2].needs
    assert need["state"].startswith("unchanged here: the run is submitted once a run of it has completed")
    # A new output prefix moves the dataset: the reader already merged is affected (its data_prefix
    # changes), not resubmitted; the new one waits for the edited data run, which merging submits.
    edit(repo, DATA, "output_prefix: /mnt/data/wiki/wiki_gpt2", "output_prefix: /mnt/data/wiki/wiki_gpt2_v2")
    commit(repo, "a new prefix")
    rows = _rows(plan(repo, base))
    assert rows[DATA].label == "submit (edited)" and rows[READER].label == "affected (not resubmitted)"
    assert rows[READER].layers == [DATA]
    assert rows[T2].needs[0]["state"] == "submitted by this merge: the run waits until it has completed"


def test_a_tokenizer_that_differs_from_its_datas_blocks_the_plan(tmp_path):
    repo = main_repo(tmp_path / "r", data=True)
    base = git(repo, "rev-parse", "HEAD").strip()
    edit(repo, DATA, "merge_file: /mnt/data/bpe/gpt2-merges.txt", "merge_file: /mnt/data/bpe/other-merges.txt")
    commit(repo, "another merges file")
    p = plan(repo, base)
    rows = _rows(p)
    (hit,) = [f for f in rows[READER].findings if f.rule == "dataset-tokenizer"]
    assert hit.file == READER and "other-merges.txt" in hit.message  # on the reader's line, naming the data's
    assert not rows[READER].submitted and p.exit_code == 0  # affected, not submitted: it does not block
    (repo / T2).write_text((repo / READER).read_text().replace("gpt3-126m-wiki", "wiki-2node"))
    commit(repo, "a new run reading it")
    p = plan(repo, base)
    assert p.exit_code == 1 and [r.path for r in p.blocked] == [T2]


def test_declaring_a_dataset_affects_the_runs_that_read_it(tmp_path):
    repo = main_repo(tmp_path / "r")
    base = git(repo, "rev-parse", "HEAD").strip()
    edit(repo, "runs/datasets.yaml", "    note: the Pile",
         "    tokenizer: {library: megatron, type: GPT2BPETokenizer, vocab_file: /mnt/data/bpe/gpt2-vocab.json, "
         "merge_file: /mnt/data/bpe/gpt2-merges.txt}\n    note: the Pile")
    commit(repo, "record the Pile's tokenizer")
    rows = _rows(plan(repo, base))
    assert set(rows) == {"runs/experiments/gpt3-126m-1node.yaml", "runs/experiments/gpt3-126m-2node.yaml"}
    assert all(r.label == "affected, unchanged" and r.layers == ["runs/datasets.yaml"] for r in rows.values())
