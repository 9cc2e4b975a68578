"""Corpus: credentials in shapes a format list misses (webhooks, CLIs, base64, query strings), and
look-alikes that are not credentials. Made-up values, built by concatenation so that secret
scanners do not flag this file itself."""

from __future__ import annotations

import base64

from cases_base import RUN, case, run
from cases_policy import RANDOM, WANDB_HEX

SLACK_HOOK = "https://hooks.slack.com/services/" + "T0A1B2C3D/B0E4F5G6H7/" + "x8Kd2mQp7Rt4Vw9Yb3Nf6Hj1"
AWS_ID = "AKIA" + "Q7ZL3XMRD4TPW2NB"
AWS_SECRET = "wJalrXUtnFEMI" + "K7MDENGbPxRfiCYzEXAMPLEKEY1"  # 40 characters
SAS = (
    "https://acct.blob.core.windows.net/data/shard0.bin?sv=2022-11-02&ss=b&srt=o&sp=r"
    "&se=2026-01-01T00:00:00Z&" + "sig=" + "Qm7Zt2Lx9Vb4Nc8Rp1Wd6Yh3Kf5Js0Ga%2Bx%3D"
)
CREDENTIALS = f"[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n"
B64_FILE = base64.b64encode(CREDENTIALS.encode()).decode()
B64_PAIR = base64.b64encode(f"{AWS_ID}:{AWS_SECRET}".encode()).decode()

LITERAL = {  # (top text, text on the line)
    "slack-webhook-metadata": (f"metadata:\n  notify: {SLACK_HOOK}\n", "notify:"),
    "slack-webhook-env-url-name": (f"env_variables:\n  SLACK_WEBHOOK_URL: {SLACK_HOOK}\n", "SLACK_WEBHOOK_URL"),
    "wandb-login-command": (
        f"command: |-\n  pip install wandb && wandb login {WANDB_HEX}\n  ${{runrepo.launch}}\n",
        "command:",
    ),
    "wandb-relogin-command": (f"command: wandb login --relogin {WANDB_HEX} && ${{runrepo.launch}}\n", "command:"),
    "aws-configure-command": (
        f"command: |-\n  aws configure set aws_secret_access_key {AWS_SECRET}\n  ${{runrepo.launch}}\n",
        "command:",
    ),
    "azure-sas-env": (f"env_variables:\n  DATA_URL: '{SAS}'\n", "DATA_URL"),
    "azure-sas-command": (f"command: wget -q '{SAS}' -O /tmp/shard0.bin && ${{runrepo.launch}}\n", "command:"),
    "base64-aws-file-command": (
        f"command: echo {B64_FILE} | base64 -d > ~/.aws/credentials && ${{runrepo.launch}}\n",
        "command:",
    ),
    "base64-aws-pair-env": (f"env_variables:\n  BOOTSTRAP: {B64_PAIR}\n", "BOOTSTRAP"),
    # assembled by interpolation: neither half is a token, the resolved value is
    "slack-token-interpolated": (
        "metadata:\n  a: xoxb-1234567890\n  b: ${metadata.a}-0987654321-x8Kd2mQp7Rt4Vw9Y\n",
        "  b:",
    ),
}
for cid, (top, needle) in LITERAL.items():
    case(f"secret-{cid}", "secrets", run(top=top), "secret-literal", line=needle)
case(
    "secret-slack-webhook-integration",
    "secrets",
    run(top=f"integrations:\n  - integration_type: git_repo\n    git_repo: {SLACK_HOOK}\n"),
    "secret-literal",
    line="git_repo:",
)

NAMED = {  # random values under names detect-secrets' keyword list or ours call secret
    "db-pass": (f"env_variables:\n  DB_PASS: {RANDOM[:20]}\n", "DB_PASS"),
    "s3-creds": (f"env_variables:\n  S3_CREDS: {RANDOM[:24]}\n", "S3_CREDS"),
    "url-token-param": (
        f"metadata:\n  dashboard: https://grafana.example.com/d/x?access_token={RANDOM}\n",
        "dashboard",
    ),
    "bearer-header": (
        f"command: |-\n  curl -H 'Authorization: Bearer {RANDOM}' https://example.com/data.bin -o /tmp/d\n"
        "  ${runrepo.launch}\n",
        "command:",
    ),
}
for cid, (top, needle) in NAMED.items():
    case(f"secret-named-{cid}", "secrets", run(top=top), "secret-named", line=needle)

# --- look-alikes: nothing may be reported ---------------------------------------------------
CLEAN = {
    "public-urls": (
        "integrations:\n  - integration_type: git_repo\n    git_repo: NVIDIA/NeMo\n    git_branch: v1.13.0\n"
        "  - integration_type: pip_packages\n    packages: [wandb==0.16.6]\n"
        "metadata:\n  vocab: https://huggingface.co/gpt2/resolve/main/vocab.json?download=true\n"
        "  dashboard: https://wandb.ai/nlp-team/gpt3/runs/3kq9x7zt?workspace=user-alice\n"
        "  docs: https://docs.nvidia.com/nemo-framework/user-guide/latest/index.html#gpt\n"
    ),
    "ids-and-digests": (
        "metadata:\n  run_uuid: 123e4567-e89b-12d3-a456-426614174000\n"
        "  checkpoint_md5: d41d8cd98f00b204e9800998ecf8427e\n"
        "  image_digest: sha256:" + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
        "  wandb_run_id: 3kq9x7zt\n"
    ),
    "secret-references": (
        "env_variables:\n  MOSAICML_API_KEY: $MOSAICML_API_KEY\n  WANDB_API_KEY: $WANDB_API_KEY\n"
        "command: |-\n  wandb login $WANDB_API_KEY\n"
        '  aws configure set aws_secret_access_key "$AWS_SECRET_ACCESS_KEY"\n'
        "  huggingface-cli login --token $HF_TOKEN\n  ${runrepo.launch}\n"
    ),
    "tokenizer-and-data": (
        "metadata:\n  tokenizer: GPT2BPETokenizer\n  tokenizer_model: /mnt/tok/spm_32k_wiki_c4.model\n"
        "  data: /mnt/data/c4/c4_en_part00_text_document\n  notes: 'AKIA-style ids and xoxb- tokens are refused here'\n"
    ),
}
for cid, top in CLEAN.items():
    case(f"valid-{cid}", "valid", run(top=top), None)
PILE = [f"/mnt/data/pile/pile_{i:02d}_text_document" for i in range(16)]
case(
    "valid-long-data-prefix",
    "valid",
    {
        RUN: run(
            model="    data:\n      data_prefix:\n" + "".join(f"        - 0.0625\n        - {p}\n" for p in PILE)
        ).replace("    data:\n      data_prefix: [1.0, /mnt/data/pile/pile_00_text_document]\n", "", 1),
        # the shards are declared, as a repository reading them would (else: dataset-unknown warnings)
        "runs/datasets.yaml": "version: 1\nexternal:\n" + "".join(f"  - prefix: {p}\n" for p in PILE),
    },
    None,
)
