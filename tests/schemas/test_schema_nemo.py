"""schemas/nemo/v*.json against NeMo's own defaults, NVIDIA's launcher presets and typical mistakes."""

from __future__ import annotations

import pytest
from schema_helpers import RELEASES, corpus, errors, load_nemo, nemo_default, release_key

ALL = list(RELEASES)


def name(release: str) -> str:
    return f"nemo/v{release}.json"


def paths(release: str, cfg: dict) -> list[str]:
    return [p for p, _ in errors(name(release), cfg)]


def text(release: str, cfg: dict) -> str:
    return "\n".join(m for _, m in errors(name(release), cfg))


@pytest.mark.parametrize("release", ALL)
def test_default_config_is_valid_once_data_prefix_is_filled(release):
    assert errors(name(release), nemo_default(release)) == []


@pytest.mark.parametrize("release", ALL)
def test_unfilled_data_prefix_fails(release):
    cfg = load_nemo(corpus("nemo", "megatron_gpt_config", RELEASES[release]))
    assert cfg["model"]["data"]["data_prefix"] == "???"
    found = errors(name(release), cfg)
    assert [p for p, _ in found] == ["model.data.data_prefix"]
    assert "never filled in" in found[0][1]


def test_launcher_presets_are_valid_under_v2_0():
    presets = sorted(corpus("nemo-launcher", "gpt3").glob("*.yaml"))
    assert len(presets) == 7
    for preset in presets:
        assert errors(name("2.0"), load_nemo(preset)) == [], preset.name


@pytest.mark.parametrize("release", ALL)
def test_misspelled_trainer_key_fails(release):
    cfg = nemo_default(release)
    cfg["trainer"]["max_step"] = 10
    assert paths(release, cfg) == ["trainer"]
    assert "max_step" in text(release, cfg)


@pytest.mark.parametrize("release", ALL)
def test_unknown_exp_manager_keys_fail(release):
    cfg = nemo_default(release)
    cfg["exp_manager"]["create_wandb_loger"] = True
    cfg["exp_manager"]["checkpoint_callback_params"]["save_top"] = 3
    assert paths(release, cfg) == ["exp_manager", "exp_manager.checkpoint_callback_params"]


@pytest.mark.parametrize("release", ALL)
def test_unknown_model_keys_are_not_errors(release):
    cfg = nemo_default(release)
    cfg["model"]["micro_batch_sizee"] = 2
    cfg["model"]["optim"]["bucket_cap_mb"] = 200
    assert errors(name(release), cfg) == []


@pytest.mark.parametrize("release", ALL)
def test_model_types_come_from_the_defaults(release):
    cfg = nemo_default(release)
    cfg["model"]["micro_batch_size"] = "4"
    cfg["model"]["optim"]["lr"] = 1  # an int where the default is a float is fine
    assert paths(release, cfg) == ["model.micro_batch_size"]


@pytest.mark.parametrize("release", ALL)
def test_types_of_common_trainer_keys(release):
    cfg = nemo_default(release)
    cfg["trainer"].update(max_steps=10, val_check_interval=0.5, limit_val_batches=1.0, max_time="01:00:00:00")
    assert errors(name(release), cfg) == []
    cfg["trainer"].update(max_steps="10", max_time="1h")
    assert paths(release, cfg) == ["trainer.max_steps", "trainer.max_time"]


def test_data_prefix_forms_by_release():
    split = {"train": [1.0, "/d/a"], "validation": "/d/b", "test": ["/d/c"]}
    for release in ALL:
        for good in ("/d/a", ["/d/a"], [0.5, "/d/a", 0.5, "/d/b"]):
            cfg = nemo_default(release)
            cfg["model"]["data"]["data_prefix"] = good
            assert errors(name(release), cfg) == [], (release, good)
        cfg["model"]["data"]["data_prefix"] = split
        # gpt_dataset.py takes a DictConfig data_prefix from v1.13 (isinstance(data_prefix, DictConfig))
        assert (errors(name(release), cfg) == []) is (release_key(release) >= (1, 13)), release
        cfg["model"]["data"]["data_prefix"] = None
        assert (errors(name(release), cfg) == []) is False
        cfg["model"]["data"]["data_impl"] = "mock"
        # ... and data_impl 'mock' from v1.18
        assert (errors(name(release), cfg) == []) is (release_key(release) >= (1, 18)), release


@pytest.mark.parametrize("release", ["1.23", "2.0"])
@pytest.mark.parametrize("key", ["strategy", "plugins", "callbacks"])
def test_trainer_keys_nemo_sets_itself_are_refused(release, key):
    cfg = nemo_default(release)
    cfg["trainer"][key] = "ddp" if key == "strategy" else None
    assert "multiple values for keyword argument" in text(release, cfg)


def test_trainer_strategy_is_a_lightning_1_argument():
    cfg = nemo_default("1.11")
    cfg["trainer"]["strategy"] = "ddp"
    assert errors(name("1.11"), cfg) == []


@pytest.mark.parametrize("release", ["1.23", "2.0"])
def test_replace_sampler_ddp_names_its_lightning_2_spelling(release):
    cfg = nemo_default(release)
    cfg["trainer"]["replace_sampler_ddp"] = False
    assert "use_distributed_sampler" in text(release, cfg)


def test_precision_values_of_lightning_2():
    cfg = nemo_default("2.0")
    for good in ("bf16", "bf16-mixed", 16, "16-mixed", 32):
        cfg["trainer"]["precision"] = good
        assert errors(name("2.0"), cfg) == [], good
    cfg["trainer"]["precision"] = "bf-16"
    assert paths("2.0", cfg) == ["trainer.precision"]


def test_restore_from_path_moved_under_model_in_v2_0():
    cfg = nemo_default("2.0")
    cfg["restore_from_path"] = "/ckpt/model.nemo"
    assert "use `model.restore_from_path`" in text("2.0", cfg)
    cfg = nemo_default("1.13")
    cfg["restore_from_path"] = "/ckpt/model.nemo"
    assert errors(name("1.13"), cfg) == []


@pytest.mark.parametrize("release", ALL)
def test_unknown_top_level_section_fails(release):
    cfg = nemo_default(release)
    cfg["trainr"] = {}
    assert paths(release, cfg) == [""]


@pytest.mark.parametrize("release", ALL)
def test_hydra_defaults_list_may_be_absent_or_present(release):
    cfg = nemo_default(release)
    cfg.pop("defaults", None)
    assert errors(name(release), cfg) == []
    if release_key(release) >= (1, 23):
        assert "defaults" in nemo_default(release)


@pytest.mark.parametrize("release", ["1.23", "2.0", "2.4"])
def test_distributed_adam_keywords_are_known_and_typos_are_not(release):
    from runrepo.validate import schema as s

    cfg = nemo_default(release)
    cfg["model"]["optim"].update(name="distributed_fused_adam", bucket_cap_mb=200, overlap_grad_sync=True,
                                 overlap_param_sync=True, contiguous_grad_buffer=True, grad_sync_dtype="bf16")
    assert s.open_unknown_keys(cfg, name(release)) == []
    cfg["model"]["optim"]["bucket_cap_mbb"] = 200
    [(path, message, typo)] = s.open_unknown_keys(cfg, name(release))
    assert path[-1] == "bucket_cap_mbb" and typo and "bucket_cap_mb" in message


@pytest.mark.parametrize("release", ALL)
def test_forms_nemo_accepts(release):
    cfg = nemo_default(release)
    cfg["model"]["optim"]["sched"]["warmup_steps"] = 132.5  # SchedulerParams.warmup_steps: Optional[float]
    cfg["exp_manager"]["resume_if_exists"] = 0  # OmegaConf's BooleanNode takes 0 as False
    cfg["model"]["tokenizer"]["type"] = None  # get_nmt_tokenizer(model_name=None) with sentencepiece
    assert errors(name(release), cfg) == []
    cfg["exp_manager"]["resume_if_exists"] = "maybe"
    assert [p for p, _ in errors(name(release), cfg)] == ["exp_manager.resume_if_exists"]


def test_megatron_core_fields_are_read_only_where_nemo_copies_them():
    from schema_helpers import schema

    model = lambda r: schema(name(r))["properties"]["model"]["properties"]  # noqa: E731
    # NeMo 1.23 copies TransformerConfig fields from the model config, except those its config_mapping
    # sets itself (layernorm_zero_centered_gamma: False): that key stays unknown there.
    assert "fp8_wgrad" in model("1.23") and "layernorm_zero_centered_gamma" not in model("1.23")
    assert "deterministic_mode" in model("2.4") and "deterministic_mode" not in model("1.20")
