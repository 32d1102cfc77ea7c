"""Train "GAN in 50 lines": `python scripts/train_moments.py --preprocess moments`.

A thin wrapper of `keras-gan train moments`; see `--help` for every flag.
"""

import sys

from keras_gan.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", "moments", *sys.argv[1:]]))
