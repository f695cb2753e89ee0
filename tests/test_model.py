import pytest
import torch

from nncz.model import ACTIVATIONS, FoldedMLP, ResidualMLP, flops_per_sample


def test_architecture_is_the_methods():
    model = ResidualMLP(12, 400)
    widths = [(b.linear.in_features, b.linear.out_features) for b in model.blocks]
    assert widths == [(12, 512), (512, 256), (256, 128), (128, 64)]
    assert all(isinstance(b.norm, torch.nn.BatchNorm1d) for b in model.blocks)
    assert all(b.dropout.p == 0.1 for b in model.blocks)
    assert all(isinstance(b.skip, torch.nn.Linear) for b in model.blocks)  # widths differ
    assert model.head.out_features == 400
    assert model(torch.randn(8, 12)).shape == (8, 400)


def test_identity_skip_when_widths_match_and_configurable_activation():
    model = ResidualMLP(4, 3, hidden=(16, 16), dropout=0.0, activation="gelu")
    assert isinstance(model.blocks[1].skip, torch.nn.Identity)
    assert isinstance(model.blocks[0].activation, torch.nn.GELU)
    with pytest.raises(ValueError, match="activation"):
        ResidualMLP(4, 3, activation="sigmoidish")


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_folded_model_matches_eval_model(activation):
    torch.manual_seed(0)
    model = ResidualMLP(12, 400, hidden=(64, 64, 32), activation=activation)
    torch.nn.init.normal_(model.head.weight)  # the zero head would make the check trivial
    model.train()
    for _ in range(3):  # give batch norm non-trivial running statistics
        model(torch.randn(256, 12) * 3 + 1)
    model.eval()
    x = torch.randn(100, 12)
    with torch.no_grad():
        expected = model(x)
    torch.testing.assert_close(FoldedMLP(model)(x), expected, rtol=1e-4, atol=1e-4)
    # the folded copy's activations work in place; the model's own must not
    assert not getattr(model.blocks[0].activation, "inplace", False)
    torch.testing.assert_close(model(x), expected)


def test_flops_count():
    model = ResidualMLP(12, 400)
    linear_macs = 12 * 512 + 512 * 256 + 256 * 128 + 128 * 64 + 64 * 400
    skip_macs = 12 * 512 + 512 * 256 + 256 * 128 + 128 * 64
    assert flops_per_sample(model) == 2 * (linear_macs + skip_macs)


def test_head_starts_at_the_uniform_pdf():
    model = ResidualMLP(5, 40).eval()
    probabilities = torch.softmax(model(torch.randn(3, 5)), dim=1)
    torch.testing.assert_close(probabilities, torch.full((3, 40), 1 / 40))
