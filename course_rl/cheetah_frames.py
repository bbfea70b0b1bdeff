"""The half-cheetah's camera frames, pixel for pixel as pybullet's TinyRenderer draws them, faster.

Why. The pixel task renders a 96x96 frame at every step, and pybullet's software renderer spends
most of its time on the checkered floor: it fills 80% of a frame, and TinyRenderer shades every
floor pixel with double-precision barycentric coordinates, twice over (the floor's two triangles
reach behind the camera, so they are clipped into a fan whose bounding boxes span the screen).
Drawing the cheetah alone takes a sixth of the time of the whole scene.

How. :func:`render_frames` asks TinyRenderer for the cheetah alone (the floor hidden) and draws
the floor with NumPy, for many environments at once (:class:`FloorPainter`):

* for most pixels, the colour of the check under the pixel comes from a closed form: the
  camera has no yaw and no roll, so along a row of pixels the texture coordinate across the
  track is affine in the column and the one along the track is constant;
* the pixels where the closed form could round differently from TinyRenderer -- within a
  small margin of a check's border, of a triangle's edge or of the floor's far edge -- are
  computed by a replica of TinyRenderer's arithmetic, operation by operation in the same
  order and precision (float32 vertex transforms and clipping, float64 barycentric
  coordinates, float32 texture coordinates: ``TinyRenderer.cpp``, ``our_gl.cpp``,
  ``geometry.h``, ``model.cpp`` of bullet3);
* the cheetah is laid over the floor where it is nearer. If, at some pixel, the cheetah and
  the floor are within round-off of the same depth (a foot touching the ground), the frame is
  drawn by TinyRenderer whole instead.

The result is the array TinyRenderer returns, bit for bit, so the VAE that was trained on
TinyRenderer's frames sees exactly what it was trained on (``tests/test_pixels.py``; 50,000
frames of random-action episodes and 10,000 of random poses checked while it was written;
``benchmarks/pixel_speed.py`` times both ways). One quirk of TinyRenderer's: it draws a rare
pixel of the cheetah one colour level apart on alternate calls of a physics client (seen at 2
pixels in 15,000 frames). :func:`render_frames` makes one TinyRenderer call per frame, as
drawing the whole scene did, so a run's frames are those it had before (but for the rare frame
drawn whole, which takes a second call).

``HalfCheetahBulletEnv.render`` draws its frame with :func:`render_frames`, and
:func:`course_rl.pixels.render` the frames of all the pixel task's environments at once. This
module calls no physics engine itself: the environments hand it their view matrices and their
cheetah alone (``render_cheetah_alone``).

Taught in notebooks/06_vision.ipynb (the speed of the pixel task).
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["FloorPainter", "floor_texture", "render_frames"]

F32 = np.float32
# plane100.obj (the visual of pybullet_data's plane_stadium.sdf): two triangles, z = 0
CORNERS = np.array([(100, -100), (100, 100), (-100, 100), (-100, -100)], F32)
CORNER_UV = np.array([(100, 0), (100, 100), (0, 100), (0, 0)], F32)
SKY = np.uint8(255)  # TinyRenderer's clear colour
# Margins of the closed form, far above its measured error (tu, tv: at most 2.3e-5 from
# TinyRenderer's float32 values over 10^6 pixels; edges: TinyRenderer's float32 screen points).
TEXTURE_MARGIN = 5e-4  # in units of half a texture repeat (one check)
EDGE_MARGIN = 1e-3  # pixels
DEPTH_MARGIN = 2e-4  # clip-space depth: the cheetah's depth is read back from a float32 buffer


def floor_texture():
    """The floor's texture as TinyRenderer samples it: ``checker_blue.png``'s RGB, rows flipped
    (``Model::setDiffuseTextureFromData``), and each texel as the floor's shader colours it."""
    import pybullet_data
    from PIL import Image

    path = os.path.join(pybullet_data.getDataPath(), "checker_blue.png")
    return _shade(np.asarray(Image.open(path).convert("RGB"))[::-1])


def _shade(texels: np.ndarray, normal_z=F32(1)) -> np.ndarray:
    """``Shader::fragment`` for the floor: normal (0, 0, ``normal_z``), pybullet's default light
    (direction (-50, 30, 100) normalised, ambient 0.6, diffuse 0.35, specular 0.05, exponent 2),
    no shadow. (TinyRenderer's interpolated and normalised normal can be 1 ulp off (0, 0, 1);
    that does not change the colours of this texture: tests/test_pixels.py checks.)"""
    light = np.array([-50.0, 30.0, 100.0])
    light = (light / np.sqrt(light @ light)).astype(F32)
    normal = np.array([0, 0, normal_z], F32)
    diffuse = _dot(normal, light)
    reflection = normal * F32(diffuse * F32(2)) - light
    reflection = reflection * F32(F32(1) / np.sqrt(F32(F32(reflection[0] * reflection[0])
                                                        + F32(reflection[1] * reflection[1]))
                                                    + F32(reflection[2] * reflection[2])))
    specular = F32(np.power(max(reflection[2], F32(0)), F32(2)))
    c = texels.astype(F32)
    light_part = F32(F32(F32(0.35) * max(F32(0), diffuse)) + F32(F32(0.05) * specular))
    value = F32(0.6) * c + light_part * c * F32(1)
    return np.minimum(value.astype(np.int64), 255).astype(np.uint8)


def _dot(a, b):
    """geometry.h's dot product over the last axis: from the last term to the first, in the
    inputs' precision (its leading ``0 +`` changes nothing)."""
    out = a[..., -1] * b[..., -1]
    for k in range(a.shape[-1] - 2, -1, -1):
        out = out + a[..., k] * b[..., k]
    return out


def _barycentric(p2, px, py):
    """``our_gl.cpp``'s ``barycentric`` (float64) of pixels ``(px, py)`` in the triangles ``p2``
    (rows of ``(3, 2)``), and whether each triangle is not degenerate."""
    ax, ay = p2[:, 0, 0], p2[:, 0, 1]
    s0x, s0y, s0z = p2[:, 2, 0] - ax, p2[:, 1, 0] - ax, ax - px
    s1x, s1y, s1z = p2[:, 2, 1] - ay, p2[:, 1, 1] - ay, ay - py
    ux = s0y * s1z - s0z * s1y
    uy = s0z * s1x - s0x * s1z
    uz = s0x * s1y - s0y * s1x
    return (1.0 - (ux + uy) / uz, uy / uz, ux / uz), np.abs(uz) > 1e-2


class FloorPainter:
    """Draws the floor of the half-cheetah's frames as TinyRenderer does, many frames at once.

    Parameters
    ----------
    width, height : int
        Frame size.
    projection : sequence of 16 floats
        The projection matrix the frames are rendered with (column-major, as pybullet's).
    """

    def __init__(self, width: int, height: int, projection):
        self.width, self.height = int(width), int(height)
        self.projection = np.array(projection, F32).reshape(4, 4).T
        flat = np.array(projection, F32)
        self.far = F32(flat[14] / F32(flat[10] + F32(1)))
        self.near = F32(flat[14] / F32(flat[10] - F32(1)))
        viewport = np.eye(4, dtype=F32)  # our_gl.cpp's viewport(0, 0, w, h)
        viewport[0, 0] = viewport[0, 3] = F32(self.width / F32(2))
        viewport[1, 1] = viewport[1, 3] = F32(self.height / F32(2))
        viewport[2, 2] = viewport[2, 3] = F32(0.5)
        self.viewport = viewport
        self.texture = floor_texture()
        # the two colours of the checks: (u, v) in [0, 1/2)^2 and the other one
        half = self.texture.shape[1] // 2
        self.palette = np.stack([self.texture[0, 0], self.texture[0, half],
                                 np.full(3, SKY, np.uint8)])
        self.rows = np.arange(self.height, dtype=np.float64)
        self.columns = np.arange(self.width, dtype=F32)

    # ---- the floor's triangles, exactly as TinyRenderer transforms and clips them ---------------
    def triangles(self, views) -> dict:
        """Screen-space data of the floor's clipped triangles for each view matrix.

        The floor's first triangle (corners 0, 1, 2) has one corner behind the camera and the
        second (0, 2, 3) two, so clipping (``clipTriangleAgainstNearplane``) makes fans of
        three drawn triangles (and two degenerate ones, which draw nothing); ``ok`` is False
        for a view where that is not so (the frame is then drawn by TinyRenderer).
        """
        n = len(views)
        view = np.asarray(views, F32).reshape(n, 4, 4).transpose(0, 2, 1)
        pmv = _dot(self.projection[None, :, None, :], view.transpose(0, 2, 1)[:, None])
        corners = np.concatenate([CORNERS, np.zeros((4, 1), F32), np.ones((4, 1), F32)], 1)
        clip = _dot(pmv[:, None, :, :], corners[None, :, None, :])  # (n, corner, xyzw)
        z, w = clip[..., 2], clip[..., 3]
        ok = (((w > 0) & (z > -w)) == [False, True, True, False]).all(1) & (w[:, [0, 3]] < 0).all(1)

        def clipped(a, b):  # clipEdge's new vertex on the edge from corner a to corner b
            v0, v1 = clip[:, a], clip[:, b]
            d0 = (v0[:, 2] + v0[:, 3])[:, None]
            d1 = (v1[:, 2] + v1[:, 3])[:, None]
            factor = (1.0 / (d1 - d0).astype(np.float64)).astype(F32)
            return (v0 * d1 - v1 * d0) * factor

        # vertices: the 4 corners, then the clip points of triangle 1 (edges 0-1, 2-0) and 2 (0-2, 2-3)
        points = np.concatenate([clip, np.stack([clipped(0, 1), clipped(2, 0), clipped(0, 2),
                                                 clipped(2, 3)], 1)], 1)  # (n, 8, 4)
        screen = _dot(self.viewport[None, None], points[:, :, None, :])
        xy = screen[..., :2] / screen[..., 3:]
        fans = (((4, 1, 2), (0, 1, 2)), ((4, 2, 5), (0, 1, 2)), ((6, 2, 7), (0, 2, 3)))
        limit = np.array([self.width - 1, self.height - 1], F32)
        drawn = []
        for fan, original in fans:
            low = np.full((n, 2), np.finfo(F32).max, F32)
            high = np.full((n, 2), -np.finfo(F32).max, F32)
            for i in fan:  # the bounding box, as triangleClipped computes it
                low = np.maximum(F32(0), np.minimum(low, xy[:, i]))
                high = np.minimum(limit, np.maximum(high, xy[:, i]))
            drawn.append({
                "xy": xy[:, fan].astype(np.float64), "w": screen[:, fan, 3].astype(np.float64),
                "z": points[:, fan, 2].astype(np.float64),
                "original_xy": xy[:, original].astype(np.float64),
                "original_w": screen[:, original, 3].astype(np.float64),
                "uv": CORNER_UV[list(original)].T, "low": low.astype(np.int64), "high": high})
        # the near-plane edges (clip point to clip point) must lie off the screen
        for a, b in ((4, 5), (6, 7)):
            ya, yb = xy[:, a, 1], xy[:, b, 1]
            ok &= ((ya < -1) & (yb < -1)) | ((ya > self.height) & (yb > self.height))
        return {"ok": ok, "pmv": pmv, "xy": xy, "drawn": drawn}

    # ---- TinyRenderer's arithmetic, for chosen pixels ------------------------------------------
    def exact(self, tris: dict, frame, px, py) -> np.ndarray:
        """Colours of the pixels ``(px, py)`` of frames ``frame`` (buffer rows, not yet flipped):
        every drawn triangle in order, with its depth test, as ``triangleClipped`` and
        ``Shader::fragment`` compute them. ``(k, 3)`` uint8."""
        depth_buffer = np.full(len(frame), -self.far, F32)
        texel = np.full(len(frame), -1, np.int64)
        x, y = px.astype(np.float64), py.astype(np.float64)
        tex_h, tex_w = self.texture.shape[:2]
        for t in tris["drawn"]:
            low, high = t["low"][frame], t["high"][frame]
            in_box = (px >= low[:, 0]) & (px.astype(F32) <= high[:, 0]) & \
                     (py >= low[:, 1]) & (py.astype(F32) <= high[:, 1])
            b, proper = _barycentric(t["xy"][frame], x, y)
            w = t["w"][frame]
            bc = [b[k] / w[:, k] for k in range(3)]
            total = (bc[0] + bc[1]) + bc[2]
            bc = [v / total for v in bc]
            z = t["z"][frame]
            depth = -1.0 * ((z[:, 2] * bc[2] + z[:, 1] * bc[1]) + z[:, 0] * bc[0])
            draw = in_box & proper & (b[0] >= 0) & (b[1] >= 0) & (b[2] >= 0) & \
                ~(depth_buffer.astype(np.float64) > depth)
            if not draw.any():
                continue
            b2, _ = _barycentric(t["original_xy"][frame], x, y)
            w2 = t["original_w"][frame]
            bc2 = [b2[k] / w2[:, k] for k in range(3)]
            total2 = (bc2[0] + bc2[1]) + bc2[2]
            bar = [(v / total2).astype(F32) for v in bc2]
            index = []
            for row, size in ((0, tex_w), (1, tex_h)):  # Model::diffuse
                coordinate = (t["uv"][row, 2] * bar[2] + t["uv"][row, 1] * bar[1]) \
                    + t["uv"][row, 0] * bar[0]
                c64 = coordinate.astype(np.float64)
                fraction = (c64 - np.trunc(c64)).astype(F32)
                fraction = np.where(fraction < 0, fraction + F32(1), fraction)
                index.append(np.clip((fraction * F32(size)).astype(np.int64), 0, size - 1))
            depth_buffer = np.where(draw, depth.astype(F32), depth_buffer)
            texel = np.where(draw, index[1] * tex_w + index[0], texel)
        colours = self.texture.reshape(-1, 3)[np.maximum(texel, 0)]
        colours[texel < 0] = SKY
        return colours

    # ---- the closed form, and which pixels it cannot decide --------------------------------
    def paint(self, views) -> tuple[np.ndarray, np.ndarray, dict]:
        """Floor images for the view matrices ``views`` (``(n, 16)``), with the sky colour where
        there is no floor: ``(images (n, h, w, 3) uint8 in output orientation, ok (n,) bool,
        geometry)``. Frames with ``ok`` False must be drawn by TinyRenderer; ``geometry`` serves
        :meth:`depth`."""
        tris = self.triangles(views)
        h, w = self.height, self.width
        rows = self.rows
        # texture coordinates (doubled: the checks change at integers) as affine ratios of the
        # pixel (x, y, 1), from the float data TinyRenderer interpolates in each original triangle
        maps = [_texture_map(t["original_xy"], t["original_w"], t["uv"])
                for t in (tris["drawn"][0], tris["drawn"][2])]
        per_row = []
        for m in maps:
            den = m[:, 2, 1, None] * rows + m[:, 2, 2, None]
            per_row.append((den, (m[:, 1, 1, None] * rows + m[:, 1, 2, None]) / den,
                            m[:, 0, 0, None] / den, (m[:, 0, 1, None] * rows + m[:, 0, 2, None]) / den))
        (den, tv, slope, start), (den2, tv2, slope2, start2) = per_row
        m = maps[0]
        # no yaw, no roll: the column enters only tu; what the column terms of den and tv (zero
        # but for round-off) and the second triangle's map would change widens the margin
        last = w - 1
        column_terms = (np.abs(m[:, 2, 0, None]) * last / np.abs(den)) * (
            np.abs(tv) + np.abs(start) + np.abs(slope) * last + 1) + np.abs(m[:, 1, 0, None]) * last / np.abs(den)
        ok = tris["ok"] & np.isfinite(column_terms).all(1)
        margin_u = TEXTURE_MARGIN + column_terms + np.maximum(
            np.abs(start - start2), np.abs(start + slope * last - start2 - slope2 * last))
        margin_v = TEXTURE_MARGIN + column_terms + np.abs(tv - tv2)
        in_front = (den > 0) & (den2 > 0)
        tv_floor = np.floor(tv)
        row_floor = in_front & (tv_floor >= 0) & (tv_floor < 200)
        tv_part = tv - tv_floor
        row_unsure = in_front & (tv > -1) & (tv < 201) & ((tv_part < margin_v) | (tv_part > 1 - margin_v))
        # per pixel (float32): tu = start + slope * column
        tu = start.astype(F32)[:, :, None] + slope.astype(F32)[:, :, None] * self.columns
        tu_floor = np.floor(tu)
        tu_part = tu - tu_floor
        margin = margin_u.astype(F32)[:, :, None]
        unsure = ((tu_part < margin) | (tu_part > 1 - margin)) & row_floor[:, :, None]
        unsure |= row_unsure[:, :, None]
        check = tu_floor.astype(np.int32)
        code = ((check + (tv_floor.astype(np.int32) & 1)[:, :, None]) & 1).astype(np.uint8)
        code[~(row_floor[:, :, None] & (check.view(np.uint32) < 200))] = 2
        code = code[:, ::-1]  # TinyRenderer's buffer is flipped into the frame at the end
        images = np.empty(code.shape + (3,), np.uint8)
        for channel in range(3):
            images[..., channel] = self.palette[:, channel].take(code)
        frame, py, px = self._near_edges(tris["xy"], unsure)
        images[frame, h - 1 - py, px] = self.exact(tris, frame, px, py)
        geometry = {"pmv": tris["pmv"], "tu": tu, "tv": tv, "code": code}
        return images, ok, geometry

    def _near_edges(self, xy, unsure):
        """The pixels flagged in ``unsure``, and those within ``EDGE_MARGIN`` of a drawn
        triangle's edge: ``(frame, row, column)`` index arrays."""
        edges = ((4, 1), (1, 2), (2, 4), (4, 2), (2, 5), (5, 4), (6, 2), (2, 7), (7, 6))
        a = xy[:, [e[0] for e in edges]].astype(np.float64)  # (n, edge, 2)
        d = xy[:, [e[1] for e in edges]].astype(np.float64) - a
        length = np.hypot(d[..., 0], d[..., 1])
        nx, ny = -d[..., 1] / length, d[..., 0] / length  # unit normal
        rows = self.rows
        offset = ny[..., None] * (rows - a[..., 1, None])  # n . (p - a) = nx (x - ax) + offset
        with np.errstate(divide="ignore", invalid="ignore"):
            centre = a[..., 0, None] - offset / nx[..., None]
            half = EDGE_MARGIN / np.abs(nx)[..., None]
            lo = np.where(nx[..., None] == 0,
                          np.where(np.abs(offset) < EDGE_MARGIN, 0, self.width), np.ceil(centre - half))
            hi = np.where(nx[..., None] == 0, self.width - 1, np.floor(centre + half))
        lo = np.clip(np.nan_to_num(lo, nan=self.width), 0, self.width)
        hi = np.clip(np.nan_to_num(hi, nan=-1), -1, self.width - 1)
        count = np.maximum(hi - lo + 1, 0).astype(np.int64)
        frame, _, row = np.nonzero(count)
        runs = count[count > 0]
        starts = lo[count > 0].astype(np.int64)
        first = np.repeat(np.cumsum(runs) - runs, runs)
        columns = np.repeat(starts, runs) + np.arange(runs.sum()) - first
        unsure[np.repeat(frame, runs), np.repeat(row, runs), columns] = True
        return np.nonzero(unsure)

    def depth(self, geometry, frame, row, column) -> np.ndarray:
        """The floor's depth (TinyRenderer's ``frag_depth``, up to round-off) at pixels
        ``(row, column)`` of frames ``frame``; ``-inf`` where there is no floor."""
        buffer_row = self.height - 1 - row
        tu = geometry["tu"][frame, buffer_row, column].astype(np.float64)
        tv = geometry["tv"][frame, buffer_row]
        pmv = geometry["pmv"][frame].astype(np.float64)
        clip_z = pmv[:, 2, 0] * (tu - 100) + pmv[:, 2, 1] * (tv - 100) + pmv[:, 2, 3]
        return np.where(geometry["code"][frame, row, column] < 2, -clip_z, -np.inf)


def _texture_map(xy, w, uv):
    """``(n, 3, 3)``: rows ``(2u, 2v, 1)`` times a common denominator, each affine in the pixel
    ``(x, y, 1)``: the perspective-correct interpolation TinyRenderer does in a triangle with
    screen points ``xy``, clip w ``w`` and texture coordinates ``uv``, in closed form."""
    a, b, c = xy[:, 0], xy[:, 1], xy[:, 2]
    bx, by = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
    cx, cy = c[:, 0] - a[:, 0], c[:, 1] - a[:, 1]
    area = cx * by - bx * cy
    # _barycentric's ux and uy as affine functions of (x, y, 1)
    ux = np.stack([by, -bx, bx * a[:, 1] - a[:, 0] * by], 1) / area[:, None]
    uy = np.stack([-cy, cx, a[:, 0] * cy - cx * a[:, 1]], 1) / area[:, None]
    b0 = -(ux + uy)
    b0[:, 2] += 1
    weights = [b0 / w[:, 0, None], uy / w[:, 1, None], ux / w[:, 2, None]]
    denominator = weights[0] + weights[1] + weights[2]
    rows = [2 * (uv[r, 0] * weights[0] + uv[r, 1] * weights[1] + uv[r, 2] * weights[2])
            for r in (0, 1)]
    return np.stack(rows + [denominator], 1)


_PAINTERS: dict = {}


def render_frames(envs) -> np.ndarray:
    """The current frames of half-cheetah environments (``bullet_envs.HalfCheetahBulletEnv``,
    all of one frame size), ``(n, height, width, 3)`` uint8: each is the frame TinyRenderer
    draws of the whole scene (``env.render_tinyrenderer()``), bit for bit."""
    first = envs[0]
    width, height = first.width, first.height
    if any((env.width, env.height) != (width, height) for env in envs):
        raise ValueError(f"render_frames draws frames of one size, got "
                         f"{sorted({(env.width, env.height) for env in envs})} (width, height)")
    key = (width, height, tuple(first._projection))
    painter = _PAINTERS.get(key)
    if painter is None:
        painter = _PAINTERS[key] = FloorPainter(width, height, first._projection)
    views = np.array([env._view_matrix() for env in envs], F32)
    frames, ok, geometry = painter.paint(views)
    # the cheetah alone, from TinyRenderer, with its depth
    colours = np.empty((len(envs), height, width, 4), np.uint8)
    depths = np.ones((len(envs), height, width), np.float32)
    for i in np.flatnonzero(ok):
        colours[i], depths[i] = envs[i].render_cheetah_alone(views[i])
    frame, row, column = np.nonzero(depths < 0.9999)  # the cheetah (1: nothing drawn)
    d = depths[frame, row, column].astype(np.float64)
    far, near = float(painter.far), float(painter.near)
    cheetah = far * near * (1 - 2 * d) / (far - d * (far - near))  # frag_depth, read back
    floor = painter.depth(geometry, frame, row, column)
    front = cheetah > floor
    frames[frame[front], row[front], column[front]] = colours[frame[front], row[front], column[front], :3]
    # where cheetah and floor are within round-off of each other, and views the floor painter
    # does not handle: TinyRenderer draws the whole frame
    redo = ~ok
    redo[frame[np.abs(cheetah - floor) < DEPTH_MARGIN]] = True
    for i in np.flatnonzero(redo):
        frames[i] = envs[i].render_tinyrenderer()
    return frames
