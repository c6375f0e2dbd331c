"""Every live demo under a stable id, with its typed parameters: the one list of them.

Each ``DemoSpec`` names a plain demo function (``kit/demos/<module>.py``), its parameters with
their kinds, ranges and defaults, the tab and section that show it, and the Gradio api_name of
its main event. The id (``"<tab>.<name>"``) and api_name never change once published: question
files link to the id with a preset (``demo_args``), deep links carry it in the URL, and API
clients call the api_name. The tabs build their input widgets from these parameters, so a
range or a default is written here and nowhere else.

The registry imports the demo modules at the top; they never import it (no cycle).
"""

from __future__ import annotations

from kit.demos import (
    beta,
    collapse,
    elbo_gap,
    encoder,
    generate,
    latent,
    reconstruction,
    reparam,
    train_live,
    vae_vs_gan,
)
from kit.demos.spec import DemoSpec, Param

N_TEST = 10_000  # digits in the bundled MNIST test set
MAX_SEED = 2**31 - 1

# ---- parameters several demos share (one definition each) -----------------------------------

INDEX = Param(
    "index",
    "int",
    0,
    "Test digit index",
    "Which of the 10,000 MNIST test digits.",
    minimum=0,
    maximum=N_TEST - 1,
    control="number",
)
DIGIT_CLASS = Param(
    "digit_class",
    "choice",
    "any",
    "Digit class for random picks",
    "Pick only among test digits of this class, or any.",
    choices=("any", *map(str, range(10))),
)
RANDOM_SEED = Param(
    "seed",
    "int",
    None,
    "Seed",
    "Empty: a fresh random pick each time; a number repeats it.",
    minimum=0,
    maximum=MAX_SEED,
    optional=True,
    control="number",
)
SEED = Param(
    "seed",
    "int",
    0,
    "Seed",
    "The same seed gives the same random draws.",
    minimum=0,
    maximum=MAX_SEED,
    control="number",
)
NOISE = Param(
    "noise",
    "float",
    0.0,
    "Input noise",
    "Standard deviation of Gaussian noise added to the input pixels.",
    minimum=reconstruction.NOISE_RANGE[0],
    maximum=reconstruction.NOISE_RANGE[1],
    step=0.05,
)
MU = Param(
    "mu",
    "float",
    1.0,
    "μ",
    "The Gaussian's mean.",
    minimum=reparam.MU_RANGE[0],
    maximum=reparam.MU_RANGE[1],
    step=0.1,
)
SIGMA = Param(
    "sigma",
    "float",
    1.0,
    "σ",
    "The Gaussian's standard deviation.",
    minimum=reparam.SIGMA_RANGE[0],
    maximum=reparam.SIGMA_RANGE[1],
    step=0.1,
)
DIGIT = Param(
    "digit",
    "int",
    7,
    "Digit to draw",
    "The label y the conditional VAE is told to write.",
    choices=generate.DIGITS,
    control="dropdown",
)
TEMPERATURE = Param(
    "temperature",
    "float",
    1.0,
    "Temperature T (z = T · ε)",
    "0 gives z = 0 every time; 1 samples the prior; above 1 reaches its rim.",
    minimum=generate.TEMPERATURE_RANGE[0],
    maximum=generate.TEMPERATURE_RANGE[1],
    step=0.05,
)


def _style(name: str) -> Param:
    label = {"z1": "z₁", "z2": "z₂"}[name]
    lo, hi = generate.STYLE_RANGE
    return Param(
        name,
        "float",
        0.0,
        label,
        "One coordinate of the style code z.",
        minimum=lo,
        maximum=hi,
        step=0.05,
    )


def _point(name: str) -> Param:
    label = {"z1": "z₁", "z2": "z₂"}[name]
    lim = latent.Z_LIMIT
    return Param(
        name,
        "float",
        0.0,
        label,
        "One coordinate of the latent point to decode.",
        minimum=-lim,
        maximum=lim,
        step=0.1,
        control="number",
    )


def _endpoint(name: str, default: int) -> Param:
    which = name[-1]
    return Param(
        name,
        "int",
        default,
        f"Test digit {which}",
        f"Index of the path's end {which} (0 to 9999).",
        minimum=0,
        maximum=N_TEST - 1,
        control="number",
    )


# ---- the demos ----------------------------------------------------------------------------------

DEMOS: tuple[DemoSpec, ...] = (
    # Reconstruction
    DemoSpec(
        id="reconstruction.test_digit",
        tab="reconstruction",
        api_name="reconstruct_test_digit",
        fn=reconstruction.show_test_digit,
        params=(INDEX, NOISE),
        summary="One test digit (optionally noisy) through AE-32, AE-2 and VAE-2, with each error and the VAE's loss split.",
        section="Test digit",
    ),
    DemoSpec(
        id="reconstruction.random_digit",
        tab="reconstruction",
        api_name="random_test_digit",
        fn=reconstruction.show_random_digit,
        params=(DIGIT_CLASS, RANDOM_SEED, NOISE),
        summary="A random test digit (optionally of one class), reconstructed by every model.",
        section="Test digit",
    ),
    DemoSpec(
        id="reconstruction.drawing",
        tab="reconstruction",
        api_name="reconstruct_drawing",
        fn=reconstruction.show_drawing,
        params=(
            Param(
                "sketch",
                "image",
                None,
                "Your drawing",
                "A sketchpad value or an image array.",
                optional=True,
            ),
            NOISE,
        ),
        summary="Your own drawing, preprocessed like MNIST, reconstructed by every model.",
        section="Draw",
    ),
    DemoSpec(
        id="reconstruction.upload",
        tab="reconstruction",
        api_name="reconstruct_upload",
        fn=reconstruction.show_upload,
        params=(
            Param("path", "file", None, "Your image", "An image file of one digit.", optional=True),
            NOISE,
        ),
        summary="An uploaded image file (checked, then preprocessed like MNIST), reconstructed by every model.",
        section="Upload",
    ),
    # Latent space
    DemoSpec(
        id="latent.scatter",
        tab="latent",
        api_name="latent_scatter",
        fn=latent.show_scatter,
        summary="The 10k test digits in the AE-2 and VAE-2 latent planes, with their spread statistics.",
        section="1 · The test digits in each plane",
    ),
    DemoSpec(
        id="latent.grid",
        tab="latent",
        api_name="latent_grid",
        fn=latent.latent_grid,
        params=(
            Param(
                "r",
                "float",
                3.0,
                "Range r",
                "The lattice covers [-r, r]².",
                minimum=latent.GRID_RANGE[0],
                maximum=latent.GRID_RANGE[1],
                step=0.25,
            ),
            Param(
                "n",
                "int",
                15,
                "Grid size n",
                "An n × n lattice of decoded points.",
                minimum=latent.GRID_SIZE[0],
                maximum=latent.GRID_SIZE[1],
            ),
        ),
        summary="An n x n lattice over [-r, r]^2 of the VAE-2 plane, decoded into one picture.",
        section="2 · The VAE plane, decoded",
    ),
    DemoSpec(
        id="latent.decode_point",
        tab="latent",
        api_name="decode_point",
        fn=latent.decode_point,
        params=(_point("z1"), _point("z2")),
        summary="One point of the VAE-2 plane decoded, marked on the map of the test codes.",
        section="3 · Decode a point",
    ),
    DemoSpec(
        id="latent.interpolate",
        tab="latent",
        api_name="interpolate",
        fn=latent.interpolate,
        params=(
            _endpoint("index_a", 2),
            _endpoint("index_b", 0),
            Param(
                "steps",
                "int",
                10,
                "Frames",
                "Images along the path, ends included.",
                minimum=latent.STEPS_RANGE[0],
                maximum=latent.STEPS_RANGE[1],
            ),
        ),
        summary="Straight-line paths between two test digits in AE-2 and VAE-2, with a smoothness measure.",
        section="4 · Walk between two digits",
    ),
    # Generate a digit
    DemoSpec(
        id="generate.samples",
        tab="generate",
        api_name="generate_digits",
        fn=generate.generate_digits,
        params=(
            DIGIT,
            Param(
                "n_samples",
                "int",
                16,
                "Number of samples",
                "How many samples in the grid.",
                minimum=1,
                maximum=generate.MAX_SAMPLES,
            ),
            TEMPERATURE,
            SEED,
        ),
        summary="A grid of conditional-VAE samples of one digit, z = temperature · ε, reproducible by seed.",
        section="Samples",
    ),
    DemoSpec(
        id="generate.same_style",
        tab="generate",
        api_name="same_style_all_digits",
        fn=generate.same_style_all_digits,
        params=(SEED, TEMPERATURE, DIGIT),  # the digit is the one shown beside the sliders
        summary="One latent code decoded with all ten labels: z carries the style, the label the digit.",
        section="Same style, every digit",
    ),
    DemoSpec(
        id="generate.style_sliders",
        tab="generate",
        api_name="style_sliders",
        fn=generate.style_sliders,
        params=(DIGIT, _style("z1"), _style("z2")),
        summary="Move the 2-d style code by hand: the chosen digit and all ten digits in that style.",
        section="Style sliders",
    ),
    # β comparison
    DemoSpec(
        id="beta.reconstruct",
        tab="beta",
        api_name="beta_reconstruct",
        fn=beta.beta_reconstruct,
        params=(INDEX,),
        summary="One test digit reconstructed by the β = 0.5, 1, 4, 10 VAEs, with each one's BCE and KL.",
        section="Reconstructions",
    ),
    DemoSpec(
        id="beta.random_digit",
        tab="beta",
        api_name="beta_random_digit",
        fn=beta.beta_random_digit,
        params=(DIGIT_CLASS, RANDOM_SEED),
        summary="A random test digit (optionally of one class) reconstructed by every β.",
        section="Reconstructions",
    ),
    DemoSpec(
        id="beta.traversal",
        tab="beta",
        api_name="latent_traversal",
        fn=beta.latent_traversal,
        params=(
            INDEX,
            Param(
                "model",
                "choice",
                "all",
                "Show the traversal of",
                "One β-VAE, or all four side by side.",
                choices=beta.TRAVERSAL_CHOICES,
            ),
            Param(
                "steps",
                "int",
                9,
                "Steps from −3 to 3",
                "Values of each dimension shown.",
                minimum=beta.STEPS_RANGE[0],
                maximum=beta.STEPS_RANGE[1],
            ),
        ),
        summary="Sweep each latent dimension from -3 to 3 around one digit: inactive dimensions change nothing.",
        section="Latent traversals",
    ),
    DemoSpec(
        id="beta.rate_distortion",
        tab="beta",
        api_name="rate_distortion",
        fn=beta.rate_distortion,
        summary="Test-set KL (rate) against reconstruction (distortion) for each β, with a table.",
        section="The trade-off on the test set",
    ),
    DemoSpec(
        id="beta.kl_per_dim",
        tab="beta",
        api_name="kl_per_dimension",
        fn=beta.kl_per_dimension,
        summary="Test-set KL per latent dimension for each β, with the count of active dimensions.",
        section="The trade-off on the test set",
    ),
    # Under the hood
    DemoSpec(
        id="under_the_hood.reparam_gradients",
        tab="under_the_hood",
        api_name="reparam_gradients",
        fn=reparam.reparam_gradients,
        params=(
            Param(
                "f",
                "choice",
                "z^2",
                "f(z)",
                "The function whose expectation is differentiated.",
                choices=tuple(reparam.FUNCTIONS),
            ),
            MU,
            SIGMA,
            Param(
                "n_samples",
                "int",
                10,
                "N, samples per estimate",
                "Samples averaged in one estimate.",
                minimum=1,
                maximum=reparam.MAX_SAMPLES,
            ),
            Param(
                "repeats",
                "int",
                500,
                "M, repeats",
                "Estimates in each histogram.",
                minimum=10,
                maximum=reparam.MAX_REPEATS,
                step=10,
            ),
            SEED,
        ),
        summary="Pathwise vs score-function estimates of d/dμ E[f(z)]: both unbiased, the pathwise one far less noisy.",
        section="1 · The reparameterization trick",
    ),
    DemoSpec(
        id="under_the_hood.no_gradient_path",
        tab="under_the_hood",
        api_name="no_gradient_path",
        fn=reparam.no_gradient_path,
        params=(
            Param(
                "method",
                "choice",
                "Normal(mu, sigma).sample()",
                "How z is drawn",
                "Which way of drawing the sample to backpropagate through.",
                choices=tuple(reparam.SAMPLERS),
                control="radio",
            ),
            MU,
            SIGMA,
            SEED,
        ),
        summary="backward() through .sample() fails (and torch.normal gives zero); .rsample() works.",
        section="1 · The reparameterization trick",
    ),
    DemoSpec(
        id="under_the_hood.elbo_vs_iwae",
        tab="under_the_hood",
        api_name="elbo_vs_iwae",
        fn=elbo_gap.elbo_vs_iwae,
        params=(INDEX, SEED),
        summary="ELBO terms for one digit and the importance-weighted bound climbing above the ELBO as K grows.",
        section="2 · ELBO vs log-likelihood",
    ),
    DemoSpec(
        id="under_the_hood.posterior_collapse",
        tab="under_the_hood",
        api_name="posterior_collapse",
        fn=collapse.posterior_collapse,
        params=(
            Param(
                "model",
                "choice",
                "beta-vae-10",
                "Model for the across-epochs view",
                "Which β-VAE's KL per dimension to follow through training.",
                choices=collapse.BETA_MODELS,
            ),
        ),
        summary="KL per latent dimension across β and across training epochs: larger β switches more dimensions off.",
        section="3 · Posterior collapse",
    ),
    DemoSpec(
        id="under_the_hood.vae_vs_gan",
        tab="under_the_hood",
        api_name="vae_vs_gan",
        fn=vae_vs_gan.vae_vs_gan,
        params=(
            Param(
                "n_shown",
                "int",
                16,
                "Samples shown",
                "Samples in each grid.",
                minimum=4,
                maximum=vae_vs_gan.MAX_SHOWN,
                step=4,
            ),
            SEED,
        ),
        summary="VAE-2 and GAN samples side by side with a sharpness measure, and an interpolation row for each.",
        section="4 · VAE vs GAN samples",
    ),
    # Train live
    DemoSpec(
        id="train_live.run",
        tab="train_live",
        api_name="train_live",
        fn=train_live.train_to_end,
        params=(
            Param(
                "kind",
                "choice",
                "vae",
                "Model",
                "Autoencoder (MSE), VAE or conditional VAE.",
                choices=train_live.KINDS,
                control="radio",
            ),
            Param(
                "beta",
                "float",
                1.0,
                "β (weight on KL; VAE kinds only)",
                "The weight of the KL term in the loss.",
                minimum=0.0,
                maximum=train_live.MAX_BETA,
                step=0.5,
            ),
            Param(
                "latent_dim",
                "int",
                2,
                "Latent size d",
                "Numbers in the code z.",
                minimum=1,
                maximum=train_live.MAX_LATENT,
            ),
            Param(
                "steps",
                "int",
                train_live.DEFAULT_STEPS,
                "Steps (batches of 128; 157 make one pass over the 20,000 digits)",
                "Optimiser steps the run trains for, at most "
                f"{train_live.STEPS_PER_SECOND:g} a second.",
                minimum=1,
                maximum=train_live.MAX_STEPS,
            ),
        ),
        summary="Train a small AE/VAE/CVAE batch by batch: live loss curves, latent map, "
        "before/after reconstructions.",
        section="Train",
        trains=True,
    ),
    # Latent space: the encoder view (kit/demos/encoder.py)
    *(
        DemoSpec(
            id=f"latent.encode_{kind}",
            tab="latent",
            api_name=f"encode_{kind}",
            fn=fn,
            params=(
                first,
                Param(
                    "model",
                    "choice",
                    "vae-2",
                    "Model",
                    "VAE-2, or the conditional CVAE-2 (which is also given a label).",
                    choices=encoder.ENCODER_MODELS,
                    control="radio",
                ),
                Param(
                    "label",
                    "choice",
                    "auto",
                    "CVAE label y",
                    "The CVAE-2's condition; auto: the label with the highest ELBO. VAE-2 ignores it.",
                    choices=encoder.LABEL_CHOICES,
                ),
                Param(
                    "seed",
                    "int",
                    0,
                    "Seed of ε",
                    "z = μ + σ·ε with ε drawn from this seed; the same seed, the same z.",
                    minimum=0,
                    maximum=encoder.MAX_SEED,
                    control="number",
                ),
            ),
            summary=summary,
            section="5 · See the encoder think",
        )
        for kind, fn, first, summary in (
            (
                "test_digit",
                encoder.encode_test_digit,
                INDEX,
                "One test digit through the encoder: μ, σ, its 1σ/2σ ellipse on the map, z = μ + σ·ε for a seed, both decodes, the ELBO split.",
            ),
            (
                "drawing",
                encoder.encode_drawing,
                Param(
                    "drawing",
                    "image",
                    None,
                    "Your drawing",
                    "The canvas's ink as 784 numbers from 0 to 1 (28 x 28, row-major), written "
                    "[v0, v1, ...]; it is cropped, scaled and centred like MNIST.",
                    optional=True,
                ),
                "Your drawing through the encoder as you draw: μ, σ, the ellipse on the map, z for a seed, both decodes, the ELBO split.",
            ),
            (
                "upload",
                encoder.encode_upload,
                Param(
                    "path", "file", None, "Your image", "An image file of one digit.", optional=True
                ),
                "An uploaded image through the encoder: μ, σ, the ellipse on the map, z for a seed, both decodes, the ELBO split.",
            ),
        )
    ),
    DemoSpec(
        id="latent.class_path",
        tab="latent",
        api_name="class_path",
        fn=encoder.class_path,
        params=(
            Param(
                "model",
                "choice",
                "beta-vae-1",
                "Model",
                "VAE-2 or one of the 10-d β-VAEs.",
                choices=encoder.PATH_MODELS,
            ),
            Param(
                "class_a",
                "choice",
                "3",
                "From a random",
                "The class of the first digit.",
                choices=tuple(map(str, range(10))),
            ),
            Param(
                "class_b",
                "choice",
                "8",
                "To a random",
                "The class of the second digit.",
                choices=tuple(map(str, range(10))),
            ),
            Param(
                "steps",
                "int",
                8,
                "Steps",
                "Points on each path, ends included.",
                minimum=encoder.PATH_STEPS[0],
                maximum=encoder.PATH_STEPS[1],
            ),
            SEED,
        ),
        summary="A random digit of one class to a random one of another: linear and spherical paths, with the prior density along each.",
        section="6 · From a random 3 to a random 8",
    ),
    DemoSpec(
        id="latent.point_path",
        tab="latent",
        api_name="point_path",
        fn=encoder.point_path,
        params=(
            Param(
                "z1_a",
                "float",
                -1.5,
                "a: z1",
                "A coordinate of the model's 2-D latent plane; click its map to set it.",
                minimum=-latent.Z_LIMIT,
                maximum=latent.Z_LIMIT,
                step=0.01,
                control="number",
            ),
            Param(
                "z2_a",
                "float",
                -1.0,
                "a: z2",
                "A coordinate of the model's 2-D latent plane; click its map to set it.",
                minimum=-latent.Z_LIMIT,
                maximum=latent.Z_LIMIT,
                step=0.01,
                control="number",
            ),
            Param(
                "z1_b",
                "float",
                1.0,
                "b: z1",
                "A coordinate of the model's 2-D latent plane; click its map to set it.",
                minimum=-latent.Z_LIMIT,
                maximum=latent.Z_LIMIT,
                step=0.01,
                control="number",
            ),
            Param(
                "z2_b",
                "float",
                1.5,
                "b: z2",
                "A coordinate of the model's 2-D latent plane; click its map to set it.",
                minimum=-latent.Z_LIMIT,
                maximum=latent.Z_LIMIT,
                step=0.01,
                control="number",
            ),
            Param(
                "steps",
                "int",
                8,
                "Steps",
                "Points on each path, ends included.",
                minimum=encoder.PATH_STEPS[0],
                maximum=encoder.PATH_STEPS[1],
            ),
            Param(
                "model",
                "choice",
                "vae-2",
                "Model",
                "A model with a 2-D latent plane: the VAE-2, or the conditional CVAE-2.",
                choices=encoder.ENCODER_MODELS,
                control="radio",
            ),
            Param(
                "label",
                "choice",
                "3",
                "CVAE label y",
                "The digit the CVAE-2 decodes every point of the path as; VAE-2 ignores it.",
                choices=encoder.POINT_LABELS,
            ),
        ),
        summary="Two points of a 2-D latent plane (VAE-2, or CVAE-2 with a label; click them on its map) joined by a linear and a spherical path, decoded, with the prior density along each.",
        section="6 · From a random 3 to a random 8",
    ),
)

_BY_ID = {s.id: s for s in DEMOS}
if len(_BY_ID) != len(DEMOS):
    raise RuntimeError("two demos share an id")
if len({s.api_name for s in DEMOS}) != len(DEMOS):
    raise RuntimeError("two demos share an api_name")


def all_demos() -> dict[str, DemoSpec]:
    """Every registered demo by id."""
    return dict(_BY_ID)


def get_demo(demo_id: str) -> DemoSpec | None:
    """The demo with this id, or None."""
    return _BY_ID.get(demo_id)


def markdown_table() -> str:
    """The demo list as a markdown table (pasted into README.md; a test keeps them in step)."""
    rows = ["| demo id | api_name | what it shows |", "|---|---|---|"]
    for spec in sorted(DEMOS, key=lambda s: s.id):
        rows.append(f"| `{spec.id}` | `{spec.api_name}` | {spec.summary} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
