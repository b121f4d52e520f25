"""model.json (manifold_core.card) and broken model folders: one `error:` line, exit status 6."""

import json
import shutil

import pytest
from conftest import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from manifold_core.card import FORMAT_VERSION, ModelCard, read_card
from manifold_core.errors import ModelError
from manifold_core.runtime import TileModel


def write(folder, data):
    folder.mkdir(exist_ok=True)
    (folder / "model.json").write_text(data if isinstance(data, str) else json.dumps(data))
    return folder


GOOD = {"format_version": FORMAT_VERSION, "kind": "local", "channels": 4, "input_size": None, "pad": 7,
        "code_size": 52}


def test_a_card_round_trips_and_nan_is_written_as_null(tmp_path):
    card = ModelCard(**{**GOOD, "metrics": {"val_mse": float("nan")}})
    card.write(tmp_path)
    assert json.loads((tmp_path / "model.json").read_text())["metrics"]["val_mse"] is None  # valid JSON
    assert read_card(tmp_path).pad == 7


def test_a_format_1_card_is_the_global_kind(tmp_path):
    old = {"format_version": 1, "channels": 4, "input_size": 32, "code_size": 128, "architecture": {"vocab_size": 128}}
    card = read_card(write(tmp_path, old))
    assert card.kind == "global" and card.pad == 0 and card.input_size == 32 and card.decoder_width == 256


def test_a_format_2_card_names_its_kind_decoder_and_gets_its_decoder_width(tmp_path):
    old = {"format_version": 2, "decoder": "local", "channels": 4, "input_size": None, "pad": 9, "code_size": 52,
           "architecture": {"local_latent": 48}}
    card = read_card(write(tmp_path, old))
    assert card.kind == "local" and card.decoder_width == 4 * 48 and card.format_version == 2


@pytest.mark.parametrize("data,message", [
    ("{not json", "not readable JSON"),
    ("[1, 2, 3]", "not a JSON object"),
    ({**GOOD, "format_version": 99}, "model format 99"),
    ({k: v for k, v in GOOD.items() if k != "channels"}, "missing channels"),
    ({**GOOD, "channels": "4"}, "channels is '4'"),
    ({**GOOD, "pad": True}, "pad is True"),
    ({**GOOD, "kind": 7}, "kind is 7"),
    ({k: v for k, v in GOOD.items() if k != "kind"}, "missing kind"),
    ({**GOOD, "channels": 2}, "out of range"),
    ({**GOOD, "decoder_width": -1}, "out of range"),
    ({**GOOD, "input_size": 32}, "takes no pad"),
    ({**GOOD, "format_version": 2, "decoder": ["local"]}, "kind is"),
])
def test_a_broken_card_is_one_clear_error(tmp_path, data, message):
    with pytest.raises(ModelError, match=message):
        read_card(write(tmp_path, data))


FIELDS = ["format_version", "kind", "decoder", "channels", "input_size", "pad", "code_size", "decoder_width",
          "architecture", "metrics", "premultiplied"]
HOSTILE = (st.integers(min_value=-2**70, max_value=2**70) | st.sampled_from([10**9, 2**63, 10**300, -1, 0])
           | st.floats() | st.sampled_from([float("inf"), float("-inf"), float("nan")]))
SCALARS = st.none() | st.booleans() | HOSTILE | st.text(max_size=8)
JSON = st.recursive(SCALARS, lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.sampled_from(FIELDS + ["local_latent", "decoder_n_hid", "x"]) | st.text(max_size=6),
                                      children, max_size=6), max_leaves=20)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


FIELD_CHANGES = st.dictionaries(st.sampled_from(FIELDS), SCALARS | JSON, min_size=1, max_size=3)  # a real card, mangled
NUMBER_CHANGES = st.dictionaries(st.sampled_from(["pad", "code_size", "input_size", "decoder_width", "channels"]),
                                 HOSTILE, min_size=1, max_size=2)  # one or two numbers out of bounds, the rest fine


@settings(max_examples=300, deadline=None)
@given(value=JSON | FIELD_CHANGES | NUMBER_CHANGES, version=st.sampled_from([1, 2, 3]))
def test_any_json_is_a_card_or_a_model_error(tmp_path_factory, value, version):
    """Any value in any field (huge, negative, inf, nan, wrong types, nested), in every format."""
    folder = tmp_path_factory.mktemp("card")
    data = value if not isinstance(value, dict) else {**GOOD, "format_version": version, **value}
    text = json.dumps(data)  # inf and nan as JSON's Infinity and NaN, which json.loads reads back
    try:
        card = read_card(write(folder, text))
    except ModelError:
        return
    assert card.channels in (1, 3, 4) and isinstance(card.kind, str)
    assert 0 <= card.pad <= 256 and 1 <= card.code_size <= 1 << 16 and 0 <= card.decoder_width <= 1 << 16


@pytest.mark.parametrize("text", [
    json.dumps({**GOOD, "pad": 10**9}),
    json.dumps({**GOOD, "code_size": 2**63}),
    json.dumps({**GOOD, "decoder_width": 10**12}),
    json.dumps({**GOOD, "input_size": None, "pad": float("inf")}),
    json.dumps({**GOOD, "format_version": 2, "decoder": "local", "architecture": {"local_latent": float("nan")}}),
    json.dumps({**GOOD, "format_version": 2, "decoder": "local", "architecture": {"local_latent": "wide"}}),
    json.dumps({**GOOD, "format_version": 1, "architecture": {"decoder_n_hid": 10**30}}),
    json.dumps({**GOOD, "format_version": 2, "decoder": "local", "architecture": {"local_latent": [1, 2]}}),
    '{"format_version": 3, "architecture": ' + nested(100_000) + "}",
    nested(100_000),
    json.dumps({**GOOD, "metrics": json.loads(nested(200))}),
])
def test_a_hostile_card_is_a_model_error_not_a_crash(tmp_path, text):
    with pytest.raises(ModelError):
        read_card(write(tmp_path / "m", text))


@pytest.mark.parametrize("command", ["upscale", "info"])
@pytest.mark.parametrize("text", [json.dumps({**GOOD, "pad": 10**9}), nested(100_000),
                                  '{"format_version": 3, "architecture": ' + nested(100_000) + "}"])
def test_a_hostile_card_is_status_6_in_every_command(tmp_path, tiny_local_model_dir, tile_folder, command, text):
    model = tmp_path / "model"
    shutil.copytree(tiny_local_model_dir, model)
    (model / "model.json").write_text(text)
    args = ["upscale", tile_folder, "--res", 24, "-o", tmp_path / "out", "-q"] if command == "upscale" else ["info"]
    result = run_cli(*args, "--model", model)
    assert result.exit_code == 6, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output


# ---------------------------------------------------------------- broken model folders, end to end
def broken(tmp_path, model_dir, damage):
    target = tmp_path / "model"
    shutil.copytree(model_dir, target)
    damage(target)
    return target


DAMAGES = {
    "corrupt encoder": lambda d: (d / "encoder.onnx").write_bytes(b"\x00garbage" * 50),
    "empty decoder": lambda d: (d / "decoder.onnx").write_bytes(b""),
    "swapped graphs": lambda d: [(d / "encoder.onnx").rename(d / "tmp"), (d / "decoder.onnx").rename(d / "encoder.onnx"),
                                 (d / "tmp").rename(d / "decoder.onnx")],
    "missing decoder": lambda d: (d / "decoder.onnx").unlink(),
    "card says 3 channels": lambda d: (d / "model.json").write_text(
        json.dumps({**json.loads((d / "model.json").read_text()), "channels": 3})),
    "card not an object": lambda d: (d / "model.json").write_text('"model"'),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_broken_model_folder_is_one_error_line_with_status_6(tmp_path, tiny_model_dir, tile_folder, damage):
    model = broken(tmp_path, tiny_model_dir, DAMAGES[damage])
    with pytest.raises(ModelError):
        TileModel.load(model, "cpu")
    result = run_cli("upscale", tile_folder, "--res", 24, "-o", tmp_path / "out", "--model", model, "-q")
    assert result.exit_code == 6, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_a_graph_from_another_model_is_refused(tmp_path, tiny_model_dir, tiny_local_model_dir):
    """The local model's encoder in the global model's folder: shapes disagree with model.json."""
    model = broken(tmp_path, tiny_model_dir, lambda d: shutil.copy(tiny_local_model_dir / "encoder.onnx", d))
    with pytest.raises(ModelError, match="do not match model.json"):
        TileModel.load(model, "cpu")
