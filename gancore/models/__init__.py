"""Model families, one per module (classifier, gan, wgan, vae) and their network builders.

Importing `gancore.models` registers every model class with Keras, which
`keras.models.load_model` needs to rebuild a saved `.keras` file of a
subclassed model (a fresh process must import it first).
"""

from gancore.models import gan  # noqa: F401  (registers GAN, ConditionalGAN)
from gancore.models import vae  # noqa: F401  (registers VAE, ConditionalVAE, Sampler)
from gancore.models import wgan  # noqa: F401  (registers WGAN)
