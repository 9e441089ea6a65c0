"""Rulebook and config YAML from outside: a valid value, or one line naming the file and the fix."""
from __future__ import annotations

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from pipeline.config import PipelineConfig, load_config
from pipeline.errors import ConfigError, RulebookError
from pipeline.rules import load_rulebook
from pipeline.rules.rulebook import DEFAULT_RULEBOOK
from tests.fuzz.helpers import cli_fails_in_one_line, json_values, mutations, valid_or_our_error

RULEBOOK = yaml.safe_load(DEFAULT_RULEBOOK.read_text(encoding="utf-8"))
CONFIG = PipelineConfig().model_dump(mode="json")
yaml_text = st.text(alphabet=st.sampled_from(list(" \n\t:-#'\"[]{}&*!|>%@`,?abc01.您好")), max_size=120)
raw = st.binary(max_size=120) | yaml_text


def _write(tmp_path, name: str, content) -> object:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    return path


@given(st.one_of(mutations(RULEBOOK, max_edits=2), json_values, raw))
@example({"\n": None})  # deep profile: the same for rulebooks
@example("\x08")  # a control character: yaml's ReaderError spans two lines
def test_rulebook_loads_or_names_the_file(tmp_path, content):
    path = _write(tmp_path, "rules.yaml", content)
    valid_or_our_error(lambda: load_rulebook(path), path, RulebookError)


@given(st.one_of(mutations(RULEBOOK, max_edits=1), raw))
def test_rulebook_command_exits_with_one_line(tmp_path, content):
    cli_fails_in_one_line(["rulebook", str(_write(tmp_path, "rules.yaml", content))])


@given(st.one_of(mutations(CONFIG), json_values, raw))
@example({"\n": None})  # deep profile: a key with a newline made a two-line error
def test_config_loads_or_names_the_file(tmp_path, content):
    path = _write(tmp_path, "callqa.yaml", content)
    valid_or_our_error(lambda: load_config(path), path, ConfigError)


@given(st.one_of(mutations(CONFIG, max_edits=1), raw))
def test_commands_with_a_bad_config_exit_with_one_line(tmp_path, content):
    path = _write(tmp_path, "callqa.yaml", content)
    cli_fails_in_one_line(["score", str(tmp_path / "none.json"), "--config", str(path)])


def test_unreadable_files_are_our_errors(tmp_path):
    for load, error in ((load_rulebook, RulebookError), (load_config, ConfigError)):
        valid_or_our_error(lambda: load(tmp_path), tmp_path, error)  # a directory
        missing = tmp_path / "missing.yaml"
        valid_or_our_error(lambda: load(missing), missing, error)
