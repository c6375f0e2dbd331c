"""Under the hood tab: the reparameterization trick, the ELBO gap, posterior collapse, VAE vs GAN."""

from __future__ import annotations

import gradio as gr

from kit.demos.collapse import BETA_MODELS, posterior_collapse
from kit.demos.elbo_gap import elbo_vs_iwae
from kit.demos.reparam import (
    FUNCTIONS,
    MAX_REPEATS,
    MAX_SAMPLES,
    MU_RANGE,
    SAMPLERS,
    SIGMA_RANGE,
    no_gradient_path,
    reparam_gradients,
)
from kit.demos.vae_vs_gan import MAX_SHOWN, vae_vs_gan
from kit.ui.errors import named_outputs
from kit.ui.widgets import LATEX, api_numbers, output_image

INTRO = r"""
### Under the hood: four interview answers, each shown live
Each section backs one answer with a measurement: why a VAE samples $z = \mu + \sigma\epsilon$,
why the ELBO is only a lower bound on $\log p(x)$, why some latent dimensions go unused, and why
VAE samples look blurrier than a GAN's. Open a section; the numbers under each plot are what
the API returns.
"""

REPARAM_INTRO = r"""
We estimate $\frac{d}{d\mu}\mathbb{E}_{z\sim\mathcal{N}(\mu,\sigma^2)}[f(z)]$ from $N$ samples,
$M$ times over. The **pathwise** estimator averages $f'(\mu+\sigma\epsilon)$ (autograd through
$z = \mu + \sigma\epsilon$); the **score-function** estimator averages
$f(z)\,(z-\mu)/\sigma^2$. Compare how far each histogram spreads around the black line.
"""

NO_PATH_INTRO = r"""
**A sample with no gradient path.** Draw one $z$, take $\text{loss} = z^2$, call
`backward()`, and see what reaches `mu.grad` (the right answer is $2z$).
"""

ELBO_INTRO = r"""
For one test digit, the ELBO $= \mathbb{E}_q[\log p(x\mid z)] - \mathrm{KL}(q(z\mid x)\,\|\,p(z))$
is the red line. The importance-weighted bound
$\mathcal{L}_K = \mathbb{E}\big[\log \tfrac{1}{K}\sum_k p(x, z_k)/q(z_k\mid x)\big]$ (blue)
starts at the ELBO for $K = 1$ and climbs towards $\log p(x)$ as $K$ grows.
"""

COLLAPSE_INTRO = r"""
The KL term splits over latent dimensions, $\mathrm{KL} = \sum_j \mathrm{KL}_j$. A dimension with
$\mathrm{KL}_j < 0.01$ nats has a posterior equal to the prior for every digit: it is
**collapsed**. Left: the four β-VAEs (10 latent dimensions each). Right: one model's
$\mathrm{KL}_j$ after every training epoch.
"""

GAN_INTRO = r"""
VAE-2 decodes $z \sim \mathcal{N}(0, I)$ to the mean of $p(x\mid z)$; the GAN maps 64-d noise
through its generator. Sharpness is the mean absolute Laplacian (higher = crisper edges), with
real test digits as the reference. The bottom rows walk a straight line between two latent
points of each model.
"""


# ---- layout and wiring ---------------------------------------------------------------------


def build(demo: gr.Blocks) -> None:
    gr.Markdown(INTRO, latex_delimiters=LATEX)

    with gr.Accordion("1 · The reparameterization trick", open=True):
        gr.Markdown(REPARAM_INTRO, latex_delimiters=LATEX)
        with gr.Row():
            with gr.Column(scale=1, min_width=280):
                f_choice = gr.Dropdown(list(FUNCTIONS), value="z^2", label="f(z)")
                mu = gr.Slider(*MU_RANGE, value=1.0, step=0.1, label="μ")
                sigma = gr.Slider(*SIGMA_RANGE, value=1.0, step=0.1, label="σ")
                n_samples = gr.Slider(
                    1, MAX_SAMPLES, value=10, step=1, label="N, samples per estimate"
                )
                repeats = gr.Slider(10, MAX_REPEATS, value=500, step=10, label="M, repeats")
                reparam_seed = gr.Number(value=0, precision=0, minimum=0, label="Seed")
                reparam_btn = gr.Button("Estimate", variant="primary")
            with gr.Column(scale=2):
                reparam_plot = output_image(
                    "Gradient estimates", image_mode="RGB", show_label=False
                )
                reparam_summary = gr.Markdown(latex_delimiters=LATEX)
                reparam_numbers = api_numbers()
        gr.Markdown(NO_PATH_INTRO, latex_delimiters=LATEX)
        with gr.Row():
            with gr.Column(scale=1, min_width=280):
                method = gr.Radio(
                    list(SAMPLERS), value="Normal(mu, sigma).sample()", label="How z is drawn"
                )
                no_path_btn = gr.Button("Call backward()", variant="primary")
            with gr.Column(scale=2):
                no_path_summary = gr.Markdown()
                no_path_numbers = api_numbers()

    with gr.Accordion("2 · ELBO vs log-likelihood", open=False) as elbo_section:
        gr.Markdown(ELBO_INTRO, latex_delimiters=LATEX)
        with gr.Row():
            with gr.Column(scale=1, min_width=280):
                elbo_index = gr.Number(
                    label="Test digit index (0 to 9999)",
                    value=0,
                    precision=0,
                    minimum=0,
                    maximum=9999,
                )
                elbo_seed = gr.Number(value=0, precision=0, minimum=0, label="Seed")
                elbo_btn = gr.Button("Compute the bounds", variant="primary")
                elbo_input = output_image("The digit", height=200)
            with gr.Column(scale=2):
                elbo_plot = gr.Plot(show_label=False)
                elbo_summary = gr.Markdown(latex_delimiters=LATEX)
                elbo_numbers = api_numbers()

    with gr.Accordion("3 · Posterior collapse", open=False) as collapse_section:
        gr.Markdown(COLLAPSE_INTRO, latex_delimiters=LATEX)
        collapse_model = gr.Dropdown(
            list(BETA_MODELS), value="beta-vae-10", label="Model for the across-epochs view"
        )
        collapse_plot = output_image("KL per dimension", image_mode="RGB", show_label=False)
        collapse_summary = gr.Markdown(latex_delimiters=LATEX)
        collapse_numbers = api_numbers()

    with gr.Accordion("4 · VAE vs GAN samples", open=False) as gan_section:
        gr.Markdown(GAN_INTRO, latex_delimiters=LATEX)
        with gr.Row():
            n_shown = gr.Slider(4, MAX_SHOWN, value=16, step=4, label="Samples shown")
            gan_seed = gr.Number(value=0, precision=0, minimum=0, label="Seed")
            gan_btn = gr.Button("New samples", variant="primary")
        with gr.Row():
            gan_images = {
                "vae_samples": output_image("VAE-2 samples"),
                "gan_samples": output_image("GAN samples"),
                "real_digits": output_image("Real test digits"),
            }
        gan_images["vae_interpolation"] = output_image("VAE-2: straight line between two z")
        gan_images["gan_interpolation"] = output_image(
            "GAN: straight line between two noise vectors"
        )
        gan_summary = gr.Markdown(latex_delimiters=LATEX)
        gan_numbers = api_numbers()

    # wiring: each main event under the DemoSpec's api_name; refreshes stay out of the API
    fn, outs = named_outputs(
        reparam_gradients,
        {"figure": reparam_plot, "summary": reparam_summary, "numbers": reparam_numbers},
    )
    reparam_inputs = [f_choice, mu, sigma, n_samples, repeats, reparam_seed]
    reparam_btn.click(fn, reparam_inputs, outs, api_name="reparam_gradients")
    f_choice.change(fn, reparam_inputs, outs, api_visibility="private")
    demo.load(fn, reparam_inputs, outs, api_visibility="private")

    fn, outs = named_outputs(
        no_gradient_path, {"summary": no_path_summary, "numbers": no_path_numbers}
    )
    no_path_inputs = [method, mu, sigma, reparam_seed]
    no_path_btn.click(fn, no_path_inputs, outs, api_name="no_gradient_path")
    method.change(fn, no_path_inputs, outs, api_visibility="private")
    demo.load(fn, no_path_inputs, outs, api_visibility="private")

    fn, outs = named_outputs(
        elbo_vs_iwae,
        {
            "input": elbo_input,
            "figure": elbo_plot,
            "summary": elbo_summary,
            "numbers": elbo_numbers,
        },
    )
    elbo_btn.click(fn, [elbo_index, elbo_seed], outs, api_name="elbo_vs_iwae")
    elbo_index.submit(fn, [elbo_index, elbo_seed], outs, api_visibility="private")
    elbo_section.expand(fn, [elbo_index, elbo_seed], outs, api_visibility="private")

    fn, outs = named_outputs(
        posterior_collapse,
        {"figure": collapse_plot, "summary": collapse_summary, "numbers": collapse_numbers},
    )
    collapse_model.change(fn, [collapse_model], outs, api_name="posterior_collapse")
    collapse_section.expand(fn, [collapse_model], outs, api_visibility="private")

    fn, outs = named_outputs(
        vae_vs_gan, {**gan_images, "summary": gan_summary, "numbers": gan_numbers}
    )
    gan_btn.click(fn, [n_shown, gan_seed], outs, api_name="vae_vs_gan")
    gan_section.expand(fn, [n_shown, gan_seed], outs, api_visibility="private")
