"""Train the adversarial autoencoder on MNIST: `python scripts/train_aae.py --epochs 10`.

A thin wrapper of `keras-gan train aae`; see `--help` for every flag.
"""

import sys

from keras_gan.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", "aae", *sys.argv[1:]]))
