"""Train the 2-D Gaussian GAN: `python scripts/train_gaussian.py --variant softmax`.

A thin wrapper of `keras-gan train gaussian`; see `--help` for every flag.
"""

import sys

from keras_gan.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", "gaussian", *sys.argv[1:]]))
