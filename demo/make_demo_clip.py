"""Render the bundled demo clip: a cat's head drifting across a launch-pad panorama, filmed by a
panning, zooming, shaking camera; the cat grows and shrinks, crosses a lattice tower and is
partly hidden (up to two thirds, frames 74-84) by a brick pillar passing in the foreground.

Everything comes from public-domain / CC0 photographs shipped inside scikit-image
(``skimage.data``: ``chelsea``, ``rocket`` and its mirror image, ``brick``); see
``siamfc/assets/README.md``. The script is deterministic (fixed seed) and writes

- ``siamfc/assets/demo_clip.mp4``   640x360, 25 fps, MPEG-4 part 2 (what headless OpenCV writes and reads)
- ``siamfc/assets/demo_groundtruth.txt``  one ``x,y,w,h`` line per frame (got10k format, 0-based pixels)

``demo/demo_clip.mp4`` and ``demo/demo_groundtruth.txt`` are symbolic links to those files.

Run: ``python demo/make_demo_clip.py`` (needs ``pip install -e .[demo]`` for scikit-image).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

DEMO = Path(__file__).resolve().parent
ASSETS = DEMO.parent / "siamfc" / "assets"


@dataclass(frozen=True)
class ClipConfig:
    width: int = 640
    height: int = 360
    fps: int = 25
    frames: int = 125
    seed: int = 2016
    world_height: int = 480
    cat_width: float = 96.0  # width of the cat's head in the world at scale 1
    occlusion_frame: int = 78  # the pole's centre crosses the cat's centre here
    pole_width: int = 64
    pole_speed: float = 14.0  # pixels per frame, right to left
    backgrounds: tuple[str, ...] = ("rocket", "rocket_mirrored")


def load_images() -> dict[str, np.ndarray]:
    try:
        from skimage import data
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SystemExit("make_demo_clip.py needs scikit-image: pip install -e .[demo]") from exc
    return {"cat": data.chelsea(), "rocket": data.rocket(), "brick": data.brick()}


def panorama(images: dict[str, np.ndarray], names: tuple[str, ...], height: int) -> np.ndarray:
    """The background photographs side by side, all ``height`` pixels tall (RGB); ``NAME_mirrored``
    is NAME flipped left-right, so ``rocket, rocket_mirrored`` is a seamless panorama."""
    parts = []
    for name in names:
        im = images[name.removesuffix("_mirrored")]
        im = im[:, ::-1] if name.endswith("_mirrored") else im
        parts.append(cv2.resize(im, (round(im.shape[1] * height / im.shape[0]), height), interpolation=cv2.INTER_AREA))
    return np.ascontiguousarray(np.hstack(parts))


def cat_sprite(images: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The cat's head cut out of ``chelsea`` with a soft elliptical mask: (RGB float, alpha float)."""
    head = images["cat"][0:280, 40:380].astype(np.float32)
    h, w = head.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = ((xx - (w - 1) / 2) / (w / 2)) ** 2 + ((yy - (h - 1) / 2) / (h / 2)) ** 2
    alpha = np.clip((1.0 - r) / 0.08, 0.0, 1.0)  # soft 4% rim
    return head, alpha


def smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def trajectories(cfg: ClipConfig, world_width: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-frame cat centre / scale in the world and the camera's zoom / centre."""
    t = np.linspace(0.0, 1.0, cfg.frames)
    cat_x = 580 + (world_width - 780) * smoothstep(t * 1.1 - 0.05)
    cat_y = cfg.world_height / 2 + 70 * np.sin(2 * np.pi * 1.3 * t) + 20 * np.sin(2 * np.pi * 3.1 * t + 1.0)
    # the cat comes closer (grows) then walks away (shrinks)
    cat_scale = 0.8 + 0.6 * np.sin(np.pi * t) ** 2
    zoom = 1.05 - 0.25 * smoothstep((t - 0.2) / 0.5) + 0.12 * smoothstep((t - 0.75) / 0.25)
    # the camera lags behind the cat and shakes a little (a seeded random walk)
    lag = 9
    cam_x = np.concatenate([np.full(lag, cat_x[0]), cat_x[:-lag]]) + 60 * np.sin(2 * np.pi * 0.7 * t)
    cam_y = np.full_like(t, cfg.world_height / 2) + 25 * np.sin(2 * np.pi * 0.9 * t + 0.5)
    shake = np.cumsum(rng.normal(0, 1.2, size=(cfg.frames, 2)), axis=0)
    shake -= np.linspace(0, 1, cfg.frames)[:, None] * shake[-1]  # return to centre
    return {"t": t, "cat_x": cat_x, "cat_y": cat_y, "cat_scale": cat_scale, "zoom": zoom,
            "cam_x": cam_x + shake[:, 0], "cam_y": cam_y + shake[:, 1]}


def camera_matrix(zoom: float, cam_x: float, cam_y: float, cfg: ClipConfig, world_shape: tuple[int, int]) -> np.ndarray:
    """2x3 world -> frame matrix; the view is kept inside the world."""
    half_w, half_h = cfg.width / (2 * zoom), cfg.height / (2 * zoom)
    cx = float(np.clip(cam_x, half_w, world_shape[1] - half_w))
    cy = float(np.clip(cam_y, half_h, world_shape[0] - half_h))
    return np.array([[zoom, 0, cfg.width / 2 - zoom * cx], [0, zoom, cfg.height / 2 - zoom * cy]])


def pole_texture(images: dict[str, np.ndarray], cfg: ClipConfig) -> np.ndarray:
    """A vertical brick pillar tinted red-brown (RGB float), as tall as the frame."""
    brick = images["brick"].astype(np.float32)[:, :128]
    brick = cv2.resize(brick, (cfg.pole_width, cfg.height), interpolation=cv2.INTER_AREA)
    tint = np.array([0.85, 0.45, 0.35], np.float32)
    pole = brick[..., None] * tint
    shade = 0.6 + 0.4 * np.sin(np.linspace(0, np.pi, cfg.pole_width, dtype=np.float32))  # a round pillar
    return pole * shade[None, :, None]


def render(cfg: ClipConfig) -> tuple[list[np.ndarray], np.ndarray]:
    """Frames (RGB uint8) and ground truth (N x 4, x, y, w, h of the cat's whole head, occluded or not)."""
    rng = np.random.default_rng(cfg.seed)
    images = load_images()
    world = panorama(images, cfg.backgrounds, cfg.world_height).astype(np.float32)
    sprite, sprite_alpha = cat_sprite(images)
    pole = pole_texture(images, cfg)
    traj = trajectories(cfg, world.shape[1], rng)
    size = (cfg.width, cfg.height)
    matrices = [camera_matrix(traj["zoom"][i], traj["cam_x"][i], traj["cam_y"][i], cfg, world.shape[:2])
                for i in range(cfg.frames)]
    # where the cat's centre is in the frame at the occlusion, so the pole crosses it then
    k = cfg.occlusion_frame
    cross_x = matrices[k][0, 0] * traj["cat_x"][k] + matrices[k][0, 2]
    frames, boxes = [], []
    for i in range(cfg.frames):
        cam = matrices[i]
        # sprite -> world (scale about the sprite centre) -> frame
        s = traj["cat_scale"][i] * cfg.cat_width / sprite.shape[1]
        sprite_to_world = np.array([[s, 0, traj["cat_x"][i] - s * (sprite.shape[1] - 1) / 2],
                                    [0, s, traj["cat_y"][i] - s * (sprite.shape[0] - 1) / 2], [0, 0, 1]])
        sprite_to_frame = (np.vstack([cam, [0, 0, 1]]) @ sprite_to_world)[:2]
        background = cv2.warpAffine(world, cam, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        cat = cv2.warpAffine(sprite, sprite_to_frame, size, flags=cv2.INTER_LINEAR)
        alpha = cv2.warpAffine(sprite_alpha, sprite_to_frame, size, flags=cv2.INTER_LINEAR)[..., None]
        frame = background * (1 - alpha) + cat * alpha
        ys, xs = np.nonzero(alpha[..., 0] > 0.5)
        boxes.append([xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1])
        # the pole, in the foreground, sweeps right to left
        left = round(cross_x + cfg.pole_speed * (k - i) - cfg.pole_width / 2)
        a, b = max(left, 0), min(left + cfg.pole_width, cfg.width)
        if a < b:
            frame[:, a:b] = pole[:, a - left:b - left]
        # a little sensor noise and a mild lighting drift
        gain = 1.0 + 0.06 * np.sin(2 * np.pi * traj["t"][i] * 1.7)
        frame = frame * gain + rng.normal(0, 3.0, frame.shape).astype(np.float32)
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames, np.asarray(boxes, dtype=np.int64)


def write_video(path: Path, frames: list[np.ndarray], fps: int) -> None:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise SystemExit(f"OpenCV cannot write {path} with the mp4v codec")
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=ASSETS, help="where to write the clip (default: %(default)s)")
    args = parser.parse_args(argv)
    cfg = ClipConfig()
    frames, boxes = render(cfg)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    video, gt = args.out_dir / "demo_clip.mp4", args.out_dir / "demo_groundtruth.txt"
    write_video(video, frames, cfg.fps)
    np.savetxt(gt, boxes, fmt="%d", delimiter=",")
    print(f"wrote {video} ({len(frames)} frames, {video.stat().st_size / 1e6:.2f} MB) and {gt}")
    if args.out_dir.resolve() == ASSETS:  # demo/ shows them too
        for path in (video, gt):
            link = DEMO / path.name
            if not link.is_symlink():
                link.unlink(missing_ok=True)
                link.symlink_to(Path("..") / "siamfc" / "assets" / path.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
