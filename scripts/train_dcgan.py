"""Train the DCGAN on MNIST: `python scripts/train_dcgan.py --epochs 4000`.

A thin wrapper of `keras-gan train dcgan`; see `--help` for every flag.
"""

import sys

from keras_gan.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", "dcgan", *sys.argv[1:]]))
