#!/usr/bin/python3
"""Real SIFT descriptors of photographs that Debian packages ship (issue 28).

    apt-get install python3-opencv python3-numpy ukui-wallpapers mate-backgrounds
    /usr/bin/python3 bench/make_photo_sift.py --out DATA/photosift [--n 100000]

Those two packages give 34 images and about 0.7 M descriptors. For the 1M
set (bench/RESULTS.md, "1M on an AVX2-only machine") also install
plasma-workspace-wallpapers gnome-backgrounds lomiri-wallpapers
sway-backgrounds: 103 images, 1.46 M descriptors, from which the 1,000,000
base rows are drawn (14 minutes on this 2-core machine, other work beside it):

    /usr/bin/python3 bench/make_photo_sift.py --out DATA/photo1m --n 1000000

Every .jpg/.png of at least 200 KB under the given folders (default: the
wallpaper folders of those packages, /usr/share/backgrounds and
/usr/share/wallpapers) is read in grey, and OpenCV's SIFT descriptors
(128 floats, integer values 0..255, as in the TEXMEX SIFT sets) are taken
at full size and at 1/2 and 1/4 size. The images are split by name hash:
one in eight gives the queries (1000 drawn from them), the rest the base
(the first --n in file order after a seeded shuffle). Writes base.fvecs,
query.fvecs and gt.ivecs (exact top 100, ties to the smaller id), like
bench/make_sets.py.
"""
import argparse, hashlib, os, sys
import numpy as np
import cv2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_sets import write_fvecs, write_ivecs, ground_truth  # noqa: E402

DIRS = ["/usr/share/backgrounds", "/usr/share/wallpapers", "/usr/share/ukui-wallpapers"]


def images(dirs):
    out = []
    for d in dirs:
        for root, _, files in os.walk(d):
            for f in files:
                p = os.path.join(root, f)
                if f.lower().endswith((".jpg", ".jpeg", ".png")) and os.path.getsize(p) >= 200_000:
                    out.append(os.path.realpath(p))
    return sorted(set(out))


def descriptors(path, sift):
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if img is None:
        return np.zeros((0, 128), np.float32)
    rows = []
    for scale in (1.0, 0.5, 0.25):
        im = img if scale == 1.0 else cv2.resize(img, None, fx=scale, fy=scale,
                                                 interpolation=cv2.INTER_AREA)
        _, d = sift.detectAndCompute(im, None)
        if d is not None:
            rows.append(d)
    return np.concatenate(rows) if rows else np.zeros((0, 128), np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dirs", nargs="*", default=DIRS)
    a = ap.parse_args()
    sift = cv2.SIFT_create()
    base, query = [], []
    paths = images(a.dirs)
    for p in paths:
        d = np.rint(descriptors(p, sift)).astype(np.float32)
        (query if hashlib.sha1(p.encode()).digest()[0] % 8 == 0 else base).append(d)
        print(p, len(d), flush=True)
    base, query = np.concatenate(base), np.concatenate(query)
    rng = np.random.default_rng(28)
    base = base[rng.permutation(len(base))[:a.n]]
    query = query[rng.permutation(len(query))[:1000]]
    print(f"{len(paths)} images: base {len(base)}, queries {len(query)}", flush=True)
    os.makedirs(a.out, exist_ok=True)
    write_fvecs(os.path.join(a.out, "base.fvecs"), base)
    write_fvecs(os.path.join(a.out, "query.fvecs"), query)
    write_ivecs(os.path.join(a.out, "gt.ivecs"), ground_truth(base, query))


if __name__ == "__main__":
    main()
