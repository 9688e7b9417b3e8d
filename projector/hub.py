"""Upload projected datasets to the Hugging Face Hub (one config per language)."""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError, ProjectorError

__all__ = ["push_languages"]


def push_languages(repo_id: str, outputs: dict[str, Path], output_format: str) -> None:
    """Push each language's Hub-layout folder to ``repo_id`` as config ``<lang>``.

    Fails with one clear line without a token or without network.
    """
    if output_format != "hf":
        raise ConfigError("push_to_hub needs the hf output format (output_format='hf')")
    import datasets
    from huggingface_hub import get_token

    if not get_token():
        raise ConfigError("no Hugging Face token: run `hf auth login` or set HF_TOKEN to push to the Hub")
    for lang, folder in outputs.items():
        dd = datasets.load_dataset(str(folder))
        try:
            dd.push_to_hub(repo_id, config_name=lang)
        except Exception as exc:  # network, permissions: one line, not a traceback
            raise ProjectorError(f"could not push {lang} to the Hub repo {repo_id!r}: {type(exc).__name__}: {exc}") from None
