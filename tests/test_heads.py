"""Cross-correlation head against a slow reference loop and hand-computed values."""

from __future__ import annotations

import pytest
import torch

from siamfc.models.network import XCorrHead, cross_correlate


def reference_xcorr(kernels: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
    """Plain loops: crop j of target n is correlated with kernel n (search ordered target by target)."""
    n, c, hk, wk = kernels.shape
    nk, _, h, w = search.shape
    k = nk // n
    out = torch.zeros(nk, 1, h - hk + 1, w - wk + 1, dtype=torch.float64)
    for t in range(n):
        for j in range(k):
            s = search[t * k + j]
            for y in range(h - hk + 1):
                for x in range(w - wk + 1):
                    out[t * k + j, 0, y, x] = (kernels[t] * s[:, y:y + hk, x:x + wk]).sum()
    return out


@pytest.mark.parametrize(("n", "k", "c", "hk", "wk", "h", "w"), [
    (1, 1, 1, 2, 2, 3, 3),
    (1, 3, 4, 3, 3, 7, 7),
    (3, 1, 5, 3, 2, 6, 8),
    (3, 4, 5, 3, 4, 9, 11),
    (2, 5, 2, 6, 6, 10, 10),
])
def test_cross_correlate_matches_reference_loop(n: int, k: int, c: int, hk: int, wk: int, h: int, w: int) -> None:
    g = torch.Generator().manual_seed(n * 100 + k)
    kernels = torch.randn(n, c, hk, wk, generator=g, dtype=torch.float64)
    search = torch.randn(n * k, c, h, w, generator=g, dtype=torch.float64)
    out = cross_correlate(kernels, search)
    assert out.shape == (n * k, 1, h - hk + 1, w - wk + 1)
    torch.testing.assert_close(out, reference_xcorr(kernels, search), rtol=1e-10, atol=1e-10)


def test_cross_correlate_hand_values() -> None:
    kernel = torch.ones(1, 1, 2, 2)
    search = torch.arange(9.0).reshape(1, 1, 3, 3)
    out = cross_correlate(kernel, search)
    # 0+1+3+4, 1+2+4+5 / 3+4+6+7, 4+5+7+8
    assert out.tolist() == [[[[8.0, 12.0], [20.0, 24.0]]]]
    # A second target whose kernel picks only the top-left pixel: its crops must not see kernel 0.
    kernels = torch.stack([torch.ones(1, 2, 2), torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])])
    search = torch.arange(9.0).reshape(1, 1, 3, 3).repeat(4, 1, 1, 1)
    out = cross_correlate(kernels, search)
    assert out[:2].flatten(1).tolist() == [[8.0, 12.0, 20.0, 24.0]] * 2
    assert out[2:].flatten(1).tolist() == [[0.0, 1.0, 3.0, 4.0]] * 2


def test_cross_correlate_rejects_mismatched_inputs() -> None:
    with pytest.raises(ValueError):
        cross_correlate(torch.zeros(2, 3, 2, 2), torch.zeros(3, 3, 5, 5))  # 3 crops for 2 kernels
    with pytest.raises(ValueError):
        cross_correlate(torch.zeros(1, 3, 2, 2), torch.zeros(1, 4, 5, 5))  # channels differ


def test_head_scale_and_bias() -> None:
    g = torch.Generator().manual_seed(0)
    kernels, search = torch.randn(2, 8, 6, 6, generator=g), torch.randn(6, 8, 22, 22, generator=g)
    plain = cross_correlate(kernels, search)

    head = XCorrHead()
    assert head.bias is None and not list(head.parameters())
    torch.testing.assert_close(head(kernels, search), plain * 0.001)
    assert XCorrHead(out_scale=0.5)(kernels, search).shape == (6, 1, 17, 17)
    torch.testing.assert_close(XCorrHead(out_scale=0.5)(kernels, search), plain * 0.5)

    head = XCorrHead(head_bias=True)
    assert [p.shape for p in head.parameters()] == [torch.Size([1])]
    assert head.bias.item() == 0.0
    with torch.no_grad():
        head.bias.fill_(-2.5)
    out = head(kernels, search)
    torch.testing.assert_close(out, plain * 0.001 - 2.5)
    out.sum().backward()
    assert head.bias.grad.item() == pytest.approx(out.numel())  # d(sum)/d(bias) = number of outputs


@torch.no_grad()
def test_siamfc_net_embeds_once_and_correlates_many_crops() -> None:
    from siamfc import ModelConfig, build_model

    net = build_model(ModelConfig(width=0.1, head_bias=True)).eval()
    z, x = torch.rand(2, 3, 127, 127) * 255, torch.rand(6, 3, 255, 255) * 255
    out = net(z, x)
    assert out.shape == (6, 1, 17, 17)
    kernels = net.embed_exemplar(z)
    torch.testing.assert_close(out, net.correlate(kernels, net.embed_search(x)))
    # Crops 3..5 belong to target 1: the same as correlating target 1 alone.
    torch.testing.assert_close(out[3:], net(z[1:], x[3:]))


def test_pseudo_siamese_has_two_backbones() -> None:
    from siamfc import ModelConfig, build_model

    shared = build_model(ModelConfig(width=0.1))
    pseudo = build_model(ModelConfig(width=0.1, pseudo_siamese=True))
    assert shared.search_backbone is None and pseudo.search_backbone is not None
    n_shared = sum(p.numel() for p in shared.parameters())
    assert sum(p.numel() for p in pseudo.parameters()) == 2 * n_shared
    with torch.no_grad():
        for p in pseudo.search_backbone.parameters():
            p.mul_(2.0)
    x = torch.rand(1, 3, 255, 255) * 255
    pseudo.eval()
    with torch.no_grad():
        assert not torch.allclose(pseudo.embed_search(x), pseudo.backbone(x))


@pytest.mark.parametrize("name", ["xcorr", "box"])
@torch.no_grad()
def test_every_registered_head_gives_its_maps(name: str) -> None:
    """Each registered head built from the registry: the response (xcorr) or the classification and box maps
    (box) of a stride-8 and a stride-16 layout's features."""
    from siamfc.models import boxnet  # noqa: F401 - registers the box head
    from siamfc.registry import build, names

    assert {"xcorr", "box"} <= set(names("head"))
    if name == "xcorr":
        out = build("head", name)(torch.rand(2, 8, 6, 6), torch.rand(2, 8, 22, 22))
        assert out.shape == (2, 1, 17, 17)
    else:
        cls, box = build("head", name, channels=48)(torch.rand(2, 48, 8, 8), torch.rand(2, 48, 16, 16))
        assert cls.shape == (2, 2, 16, 16) and box.shape == (2, 4, 16, 16) and bool((box > 0).all())
