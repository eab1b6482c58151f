"""The speed benchmark behind `make bench`: argument checks and one real (short) run."""
import pytest

from mtl_lessons import bench


def test_unknown_framework_is_refused():
    with pytest.raises(ValueError, match="framework must be one of"):
        bench.bench_framework("jax")


@pytest.mark.parametrize("argv", [["--epochs", "0"], ["--batch-size", "-3"], ["--frameworks", "jax"]])
def test_bad_arguments_stop_before_any_training(argv):
    with pytest.raises(SystemExit):
        bench.main(argv)


def test_one_epoch_of_torch_gives_a_row_per_architecture(capsys):
    table = bench.main(["--frameworks", "torch", "--epochs", "1"])
    assert list(table["architecture"]) == list(bench.ARCHITECTURES)
    assert (table["samples_per_second"] > 0).all() and (table["parameters"] > 0).all()
    assert "samples_per_second" in capsys.readouterr().out
