"""What the views call things: statuses, runtimes and error signatures, from the wire and the adapters."""
from __future__ import annotations

from matrix.views import html
from matrix.views.labels import STATUS_ORDER, error_signature, has_providers, rank, runtime_label, runtime_short
from matrix.wire import Status


def test_error_signature_keeps_the_kind_of_failure_and_drops_what_varies():
    a = error_signature("\x1b[96mRuntimeError\x1b[0m: node Add_12 (Add_12) in /tmp/x/model.onnx: 3 != 4\nmore")
    b = error_signature("RuntimeError: node Add_7 (Add_7) in /home/ci/m.onnx: 30 != 41")
    assert a == b and "\x1b" not in a and "more" not in a
    assert error_signature("aten::einsum not supported") != error_signature("aten::roll not supported")
    assert error_signature(None) == "" and error_signature(["a list"]) == "['a list']"
    # torch 2.8 dropped the full stop of a message: still the same failure
    assert error_signature("Unsupported: ONNX export of operator aten::append.") == error_signature(
        "Unsupported: ONNX export of operator aten::append")


def test_rank_orders_statuses_and_puts_unknown_ones_last():
    assert rank("pass") < rank("diverge") < rank("crash") < rank("a status from the future")
    assert rank(None) == rank(["unhashable"]) == rank("a status from the future")


def test_runtime_names_come_from_the_adapters():
    assert runtime_label("onnxruntime", "CUDAExecutionProvider") == "onnxruntime CUDA"
    assert runtime_label("openvino", "CPU") == "OpenVINO CPU"
    assert runtime_label("tvm", "llvm") == "tvm llvm" and runtime_short("tvm", "llvm") == "tvm/llvm"
    assert has_providers("onnxruntime") and not has_providers("openvino") and not has_providers("tvm")


def test_the_shared_stylesheet_colours_every_status_in_the_legend_order():
    css = html.environment("report").get_template("status.css").render()
    for status in Status:
        assert f".s-{status.value} {{" in css, status
    legend = html.environment("site").get_template("legend.html").render()
    assert [legend.index(f'"s-{s}"') for s in STATUS_ORDER] == sorted(legend.index(f'"s-{s}"') for s in STATUS_ORDER)


def test_a_page_with_a_lone_surrogate_is_written_escaped(tmp_path):
    size = html.write_page(tmp_path / "p.html", "bad \udc80 text")
    assert (tmp_path / "p.html").read_bytes() == b"bad \\udc80 text" and size == len(b"bad \\udc80 text")
    assert not list(tmp_path.glob(".*.tmp"))
