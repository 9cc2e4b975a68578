"""What the NeMo schemas take from reading NeMo and Lightning by hand rather than from a default value.

Each entry says where it comes from; the generator applies an entry only to releases it fits.
"""

from __future__ import annotations

# Keys whose default is null, typed from NeMo's comments and code (null stays allowed).
NULL_HINTS = {
    "restore_from_path": {"type": "string"},
    "model.restore_from_path": {"type": "string"},
    "model.restore_from_ckpt": {"type": "string"},
    "model.resume_from_checkpoint": {"type": "string"},
    "model.rampup_batch_size": {"type": "array", "items": {"type": "integer"}, "minItems": 3, "maxItems": 3},
    "model.virtual_pipeline_model_parallel_size": {"type": "integer"},
    "model.kv_channels": {"type": "integer"},
    "model.num_query_groups": {"type": "integer"},
    "model.seq_len_interpolation_factor": {"type": "number"},
    "model.activations_checkpoint_granularity": {"enum": ["selective", "full"]},  # mcore TransformerConfig
    "model.activations_checkpoint_method": {"enum": ["uniform", "block"]},
    "model.activations_checkpoint_num_layers": {"type": "integer"},
    "model.num_micro_batches_with_partial_activation_checkpoints": {"type": "integer"},
    "model.activations_checkpoint_layers_per_pipeline": {"type": "integer"},
    "model.nccl_communicator_config_path": {"type": "string"},
    "model.dist_ckpt_load_strictness": {"type": "string"},
    "model.ub_tp_comm_overlap_cfg": {"type": ["string", "object"]},
    "model.tokenizer.model": {"type": "string"},
    "model.tokenizer.vocab_file": {"type": "string"},
    "model.tokenizer.merge_file": {"type": "string"},
    "model.tokenizer.delimiter": {"type": "string"},
    "model.data.index_mapping_dir": {"type": "string"},
}

# Keys whose default is a value but where NeMo also accepts null (read from NeMo's source):
NULLABLE = {
    # get_nmt_tokenizer(model_name=tokenizer.type) is Optional; the sentencepiece library loads
    # tokenizer.model and ignores the name (nemo/collections/nlp/modules/common/tokenizer_utils.py).
    "model.tokenizer.type",
    # gpt_dataset.build_train_valid_test_datasets: with a train/validation/test data_prefix mapping
    # splits_string is not used ("ignored since data prefix is of type dictionary", v1.13+).
    "model.data.splits_string",
}

# Mappings whose keys NeMo passes on unchecked: no key of theirs is unknown.
FREE_FORM = {
    "model.mcore_customization_config": "Set attribute by attribute on Megatron Core's TransformerConfig "
    "(`setattr(transformer_config, key, value)` in megatron_gpt_model.py): any key is taken.",
}

# Keys NeMo's code reads that the default omits, where the literal default in code is too loose.
EXTRA_HINTS = {
    "model.context_parallel_size": {"type": "integer"},
    "model.expert_model_parallel_size": {"type": "integer"},
    "model.precision": {"type": ["integer", "string"]},  # the script copies trainer.precision here
}

# NLPFSDPStrategy(grad_reduce_dtype: Union[int, str]) takes 32, 16, "bf16", "fp32" whatever the default.
OVERRIDES = {"model.fsdp_grad_reduce_dtype": {"type": ["integer", "string"]}}

# Lightning's Timer parses a string as DD:HH:MM:SS (int of each of the first four parts).
MAX_TIME = {
    "pattern": r"^\s*\d+:\d+:\d+:\d+\s*$",
    "x-message": "trainer.max_time must be DD:HH:MM:SS (e.g. 00:23:30:00), a mapping of timedelta "
    "arguments such as {days: 1, hours: 2}, or null",
}

# Trainer arguments a Lightning release lacks: (the argument that replaced it, why). Applied when the
# old name is not in the release's signature and the new one is.
RENAMED = {
    "replace_sampler_ddp": ("use_distributed_sampler", "renamed `use_distributed_sampler` in Lightning 2.0"),
    "use_distributed_sampler": (
        "replace_sampler_ddp",
        "Lightning 2.x's name; 1.x calls it `replace_sampler_ddp`",
    ),
    "gpus": ("devices", "removed in Lightning 2.0: use `devices` with `accelerator: gpu`"),
    "checkpoint_callback": ("enable_checkpointing", "removed in Lightning 1.7: use `enable_checkpointing`"),
    "weights_summary": ("enable_model_summary", "removed in Lightning 1.7: use `enable_model_summary`"),
    "progress_bar_refresh_rate": ("enable_progress_bar", "removed in Lightning 1.7: use enable_progress_bar"),
    "resume_from_checkpoint": (
        None,
        "removed in Lightning 2.0: NeMo resumes from `exp_manager.resume_from_checkpoint` "
        "or `model.resume_from_checkpoint`",
    ),
}

DEFAULTS_LIST = {
    "description": "Hydra defaults list of the config file; Hydra consumes it when composing.",
    "type": "array",
    "items": {
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": {"type": ["string", "null", "array"], "items": {"type": "string"}},
            },
        ]
    },
}

CLUSTER_TYPE = {  # cfg.get('cluster_type') in MegatronTrainerBuilder (v1.23+), the pretraining script before
    "description": "Read by NeMo's trainer setup: `BCP` adds Lightning's TorchElasticEnvironment plugin.",
    "type": ["string", "null"],
}


def _key(release: str) -> tuple[int, ...]:
    return tuple(int(x) for x in release.split("."))


def data_prefix(release: str) -> dict:
    """model.data.data_prefix: mandatory (`???`); list or string; a split mapping from v1.13; null with mock from v1.18."""
    path = {"type": "string", "not": {"const": "???"}}
    listed = {"type": "array", "minItems": 1, "items": {"type": ["number", "string"]}}
    forms: list[dict] = [path, listed]
    wording = "a path prefix, or a list [weight, path, weight, path, ...] (a single path needs no weight)"
    if _key(release) >= (1, 13):  # gpt_dataset: isinstance(data_prefix, DictConfig) from v1.13
        split = {"description": "Path prefix or weighted list for this split.", "anyOf": [path, listed]}
        forms.append(
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["train", "validation", "test"],
                "properties": {k: split for k in ("train", "validation", "test")},
            }
        )
        wording += ", or a mapping with train, validation and test"
    if _key(release) >= (1, 18):  # gpt_dataset: data_impl 'mock' (no data) from v1.18
        forms.append({"type": "null"})
        wording += "; null only with data_impl: mock"
    return {
        "description": f"Training data (mandatory, `???` in NeMo's default): {wording}. Each path names "
        "PATH.bin and PATH.idx.",
        "anyOf": forms,
        "x-message": f"model.data.data_prefix must be {wording} (`???` means it was never filled in)",
    }


def data_requires_prefix(release: str) -> dict:
    """Keywords for model.data: data_prefix is required, except with data_impl: mock (NeMo v1.18+)."""
    if _key(release) < (1, 18):
        return {"required": ["data_prefix"]}
    not_null = {
        "description": "Without data_impl: mock, NeMo needs data.",
        "not": {"type": "null"},
        "x-message": "model.data.data_prefix may be null only with data_impl: mock",
    }
    return {
        "if": {"required": ["data_impl"], "properties": {"data_impl": {"const": "mock"}}},
        "else": {"required": ["data_prefix"], "properties": {"data_prefix": not_null}},
    }
