"""A Tkinter window (the headless OpenCV wheel has no GUI) showing RGB frames, queueing keys and dragged
boxes; its caller's loop pumps Tk's events (``show``, ``poll``), so only the main thread touches Tk."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import SiamFCError

#: keys reported by name (Tk's keysym; "escape", "space", "enter"); printable keys come as their character
KEY_NAMES = {"Escape": "escape", "space": "space", "Return": "enter", "KP_Enter": "enter"}


@dataclass(frozen=True)
class BoxEvent:
    box: np.ndarray  # x, y, w, h in image pixels (0-based)


def check_display(hint: str = "", key: str = "DISPLAY") -> None:
    """A one-line error, rather than a Tcl traceback, when no window can be opened (``hint``: what to do instead)."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise SiamFCError("no display to open a window on (DISPLAY is not set)" + (f"; {hint}" if hint else ""), key)


class Window:
    """Frames scaled to fit 1280 pixels; ``show`` and ``poll`` return False once the user asked to stop
    (``q``, Esc, closing it). With ``drag_select`` a finished drag is a :class:`BoxEvent`."""

    def __init__(self, title: str = "siamfc", help_text: str | None = None, drag_select: bool = False) -> None:
        check_display()
        try:
            import tkinter as tk

            from PIL import Image, ImageTk
        except ImportError as exc:
            raise SiamFCError(f"a window needs Tkinter and Pillow's ImageTk ({exc}); e.g. apt install python3-tk",
                              "tkinter") from exc
        self._tk, self._Image, self._ImageTk = tk, Image, ImageTk
        try:
            self.root = tk.Tk()
        except tk.TclError as exc:
            raise SiamFCError(f"cannot open a window ({exc})", "DISPLAY") from exc
        self.title, self.drag_select = title, drag_select
        self.root.title(title)
        self.canvas = tk.Canvas(self.root, highlightthickness=0, borderwidth=0, background="black")
        self.canvas.pack(side="top")
        self._image_item = self.canvas.create_image(0, 0, anchor="nw")
        if help_text:
            tk.Label(self.root, text=help_text, anchor="w", justify="left").pack(side="top", fill="x")
        self.scale, self.closed, self.stop_requested = 1.0, False, False
        self.dragging: tuple[int, int] | None = None  # where the drag under way started
        self._events: list[str | BoxEvent] = []  # a key, or a box dragged
        self._photo = self._rect = None
        self.root.protocol("WM_DELETE_WINDOW", self._on_close)
        self.root.bind("<Key>", self._on_key)
        self.canvas.bind("<ButtonPress-1>", self._on_press)
        self.canvas.bind("<B1-Motion>", self._on_motion)
        self.canvas.bind("<ButtonRelease-1>", self._on_release)
        self.root.focus_force()  # keys go to the window just opened (also where no window manager runs)

    def _on_close(self) -> None:
        self.closed = self.stop_requested = True

    def _on_key(self, event) -> None:
        key = KEY_NAMES.get(event.keysym, event.char if event.char and event.char.isprintable() else event.keysym)
        if key == "escape" and self.dragging:  # Esc during a drag cancels the drag
            self._cancel_drag()
            return
        if key in ("q", "escape") and not self.dragging:
            self.stop_requested = True
        self._events.append(key)

    def _on_press(self, event) -> None:
        self._cancel_drag()
        if self.drag_select:
            self.dragging = (event.x, event.y)
            self._rect = self.canvas.create_rectangle(event.x, event.y, event.x, event.y, outline="#ffff00",
                                                      width=2, dash=(4, 2))

    def _on_motion(self, event) -> None:
        if self.dragging:
            self.canvas.coords(self._rect, *self.dragging, event.x, event.y)

    def _on_release(self, event) -> None:
        start = self.dragging
        self._cancel_drag()
        if start is None:
            return
        (x0, y0), (x1, y1) = start, (event.x, event.y)
        x, y, w, h = min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)
        if w >= 4 and h >= 4:  # a click or a tiny drag is not a box
            self._events.append(BoxEvent(np.array([x, y, w, h], dtype=np.float64) / self.scale))

    def _cancel_drag(self) -> None:
        if self._rect is not None:
            self.canvas.delete(self._rect)
        self._rect = self.dragging = None

    def events(self) -> list[str | BoxEvent]:
        """Key presses and finished drags since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    def show(self, image: np.ndarray) -> bool:
        """Display ``image`` (RGB uint8) and process pending events."""
        if self.closed:
            return False
        self.scale = min(1.0, 1280 / max(image.shape[:2]))
        if self.scale < 1.0:
            size = (round(image.shape[1] * self.scale), round(image.shape[0] * self.scale))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        picture = self._Image.fromarray(np.ascontiguousarray(image[..., :3]))
        if self._photo is not None and (self._photo.width(), self._photo.height()) == picture.size:
            self._photo.paste(picture)  # reuse the Tk image: far cheaper than a new one per frame
        else:
            self._photo = self._ImageTk.PhotoImage(picture, master=self.root)
            self.canvas.config(width=picture.size[0], height=picture.size[1])
            self.canvas.itemconfig(self._image_item, image=self._photo)  # made first: below the boxes drawn
        return self.poll()

    def poll(self) -> bool:
        """Process pending window events."""
        if self.closed:
            return False
        try:
            self.root.update()
        except self._tk.TclError:  # the window was destroyed
            self.closed = self.stop_requested = True
        return not self.stop_requested

    def select_box(self, image: np.ndarray) -> np.ndarray:
        """Show ``image`` until the user drags a box and accepts it with Enter or space; a SiamFCError on
        Esc or when the window closes."""
        was_drag_select, self.drag_select = self.drag_select, True
        self.root.title("drag a box around the target, then press Enter (Esc cancels)")
        self.show(image)
        box, accepted = None, False
        marker = self.canvas.create_rectangle(0, 0, 0, 0, outline="#00ff00", width=2, state="hidden")
        while not accepted and self.poll():
            for event in self.events():
                if isinstance(event, BoxEvent):
                    box = event.box
                    x, y, w, h = box * self.scale
                    self.canvas.coords(marker, x, y, x + w, y + h)
                    self.canvas.itemconfig(marker, state="normal")
                elif event in ("enter", "space") and box is not None:
                    accepted = True
            time.sleep(0.01)
        if not self.closed:
            self.canvas.delete(marker)
        self.drag_select = was_drag_select
        self._cancel_drag()
        self.root.title(self.title)
        if not accepted:
            raise SiamFCError("no box was selected (the window was closed or Esc pressed)", "window")
        self.stop_requested = False
        return box

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(self._tk.TclError):
                self.root.destroy()
        self.closed = True
