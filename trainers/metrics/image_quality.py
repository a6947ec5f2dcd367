"""Full-reference image quality for translation, super-resolution and inpainting: PSNR and SSIM.

Images are tensors in [-1, 1] (the models' range), (B, C, H, W). The super-resolution
literature's protocol (SRCNN, SRResNet, ESRGAN) is :func:`sr_psnr_ssim`: both images to the Y
channel of YCbCr (ITU-R BT.601, on the 0-255 scale), ``scale`` pixels shaved off every border,
PSNR with peak 255, and SSIM with an 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03,
as Wang et al.'s reference code; SSIM comes from torchmetrics.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def to_unit(x: Tensor) -> Tensor:
    """[-1, 1] -> [0, 1], clamped."""
    return ((x.float() + 1) / 2).clamp(0, 1)


def psnr(output: Tensor, target: Tensor, mask: Tensor | None = None) -> float:
    """Mean over the batch of each image's PSNR in dB on the [0, 1] scale (optionally only where
    ``mask``, (B, 1, H, W) bool, is True)."""
    a, b = to_unit(output), to_unit(target)
    squared = (a - b).pow(2)
    if mask is None:
        mse = squared.flatten(1).mean(1)
    else:
        weight = mask.float().expand_as(squared)
        mse = (squared * weight).flatten(1).sum(1) / weight.flatten(1).sum(1).clamp(min=1)
    return float((10 * torch.log10(1.0 / mse.clamp(min=1e-10))).mean())


def l1(output: Tensor, target: Tensor) -> float:
    """Mean absolute error on the [-1, 1] scale (the pix2pix loss's own units)."""
    return float((output.float() - target.float()).abs().mean())


def luma(x: Tensor) -> Tensor:
    """[-1, 1] RGB (or grey) -> the Y channel of YCbCr on the 0-255 scale (16..235), as MATLAB's rgb2ycbcr."""
    unit = to_unit(x)
    if unit.shape[1] == 1:
        unit = unit.expand(-1, 3, -1, -1)
    weights = torch.tensor([65.481, 128.553, 24.966], device=unit.device).view(1, 3, 1, 1)
    return (unit * weights).sum(1, keepdim=True) + 16.0


#: SSIM's Gaussian window: its reflection padding (half the window) needs more pixels than that
SSIM_WINDOW = 11


def sr_min_side(scale: int) -> int:
    """The smallest side :func:`sr_psnr_ssim` can score: ``scale`` pixels shaved off each border
    must leave more than half an SSIM window."""
    return 2 * scale + SSIM_WINDOW // 2 + 1


def sr_psnr_ssim(output: Tensor, target: Tensor, scale: int) -> tuple[float, float]:
    """(PSNR dB, SSIM) on the Y channel with ``scale`` border pixels shaved: the SR protocol."""
    y_out, y_ref = luma(quantize(output)), luma(quantize(target))
    if scale > 0:
        y_out, y_ref = y_out[..., scale:-scale, scale:-scale], y_ref[..., scale:-scale, scale:-scale]
    mse = (y_out - y_ref).pow(2).flatten(1).mean(1)
    value = float((10 * torch.log10(255.0 ** 2 / mse.clamp(min=1e-10))).mean())
    # imported here: torchmetrics takes about 3 s to import, which every CLI start would pay
    from torchmetrics.functional.image import structural_similarity_index_measure

    ssim = structural_similarity_index_measure(y_out, y_ref, gaussian_kernel=True, sigma=1.5, kernel_size=SSIM_WINDOW,
                                               data_range=255.0, k1=0.01, k2=0.03)
    return value, float(ssim)


def quantize(x: Tensor) -> Tensor:
    """Round [-1, 1] images to the 256 levels an 8-bit file would store (outputs are saved that way)."""
    return (to_unit(x) * 255).round() / 127.5 - 1


def bicubic_resize(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Bicubic resize with antialiasing (MATLAB imresize's behaviour when shrinking)."""
    return F.interpolate(x.float(), size=size, mode="bicubic", align_corners=False,
                         antialias=True).clamp(-1, 1)


def downscale(hr: Tensor, scale: int) -> Tensor:
    """The standard SR degradation: bicubic downsampling by ``scale`` (sides must divide)."""
    h, w = hr.shape[-2:]
    if h % scale or w % scale:
        raise ValueError(f"a {w}x{h} image cannot be downscaled by {scale}: crop it to a multiple first")
    return bicubic_resize(hr, (h // scale, w // scale))


def upscale_bicubic(lr: Tensor, scale: int) -> Tensor:
    """The baseline every SR model is compared against."""
    return bicubic_resize(lr, (lr.shape[-2] * scale, lr.shape[-1] * scale))


def modcrop(image: Tensor, scale: int) -> Tensor:
    """Crop (…, H, W) so both sides are multiples of ``scale`` (the SR benchmarks' convention)."""
    h, w = image.shape[-2:]
    return image[..., : h - h % scale, : w - w % scale]
