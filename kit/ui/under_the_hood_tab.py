"""Under the hood tab: the reparameterization trick, the ELBO gap, posterior collapse, VAE vs GAN."""

from __future__ import annotations

import gradio as gr

from kit.demos.registry import get_demo
from kit.ui.links import DemoLink, anchor_id, copy_link_button, wire_demo
from kit.ui.widgets import LATEX, api_numbers, output_image, param_input, param_inputs

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


def build(demo: gr.Blocks) -> list[DemoLink]:
    """The tab's layout and events; returns its demos' links."""
    reparam_spec = get_demo("under_the_hood.reparam_gradients")
    no_path_spec = get_demo("under_the_hood.no_gradient_path")
    elbo_spec = get_demo("under_the_hood.elbo_vs_iwae")
    collapse_spec = get_demo("under_the_hood.posterior_collapse")
    gan_spec = get_demo("under_the_hood.vae_vs_gan")
    gr.Markdown(INTRO, latex_delimiters=LATEX)
    with gr.Accordion(reparam_spec.section, open=True) as reparam_section:
        with gr.Column(elem_id=anchor_id(reparam_spec.id)):
            gr.Markdown(REPARAM_INTRO, latex_delimiters=LATEX)
            with gr.Row():
                with gr.Column(scale=1, min_width=280):
                    reparam_inputs = param_inputs(reparam_spec)
                    reparam_btn = gr.Button("Estimate", variant="primary")
                    copy_link_button(reparam_spec, reparam_inputs)
                with gr.Column(scale=2):
                    reparam_plot = output_image(
                        "Gradient estimates", image_mode="RGB", show_label=False
                    )
                    reparam_summary = gr.Markdown(latex_delimiters=LATEX)
                    reparam_numbers = api_numbers()
        with gr.Column(elem_id=anchor_id(no_path_spec.id)):
            gr.Markdown(NO_PATH_INTRO, latex_delimiters=LATEX)
            with gr.Row():
                with gr.Column(scale=1, min_width=280):
                    method = param_input(no_path_spec.param("method"))
                    no_path_btn = gr.Button("Call backward()", variant="primary")
                    no_path_inputs = {
                        "method": method,
                        **{k: reparam_inputs[k] for k in ("mu", "sigma", "seed")},
                    }
                    copy_link_button(no_path_spec, no_path_inputs)
                with gr.Column(scale=2):
                    no_path_summary = gr.Markdown()
                    no_path_numbers = api_numbers()

    with gr.Accordion(elbo_spec.section, open=False) as elbo_section:
        with gr.Column(elem_id=anchor_id(elbo_spec.id)):
            gr.Markdown(ELBO_INTRO, latex_delimiters=LATEX)
            with gr.Row():
                with gr.Column(scale=1, min_width=280):
                    elbo_inputs = param_inputs(elbo_spec)
                    elbo_btn = gr.Button("Compute the bounds", variant="primary")
                    copy_link_button(elbo_spec, elbo_inputs)
                    elbo_input = output_image("The digit", height=200)
                with gr.Column(scale=2):
                    elbo_plot = output_image(
                        "The bounds against K", image_mode="RGB", show_label=False
                    )
                    elbo_summary = gr.Markdown(latex_delimiters=LATEX)
                    elbo_numbers = api_numbers()

    with gr.Accordion(collapse_spec.section, open=False) as collapse_section:
        with gr.Column(elem_id=anchor_id(collapse_spec.id)):
            gr.Markdown(COLLAPSE_INTRO, latex_delimiters=LATEX)
            collapse_inputs = param_inputs(collapse_spec)
            copy_link_button(collapse_spec, collapse_inputs)
            collapse_plot = output_image("KL per dimension", image_mode="RGB", show_label=False)
            collapse_summary = gr.Markdown(latex_delimiters=LATEX)
            collapse_numbers = api_numbers()

    with gr.Accordion(gan_spec.section, open=False) as gan_section:
        with gr.Column(elem_id=anchor_id(gan_spec.id)):
            gr.Markdown(GAN_INTRO, latex_delimiters=LATEX)
            with gr.Row():
                gan_inputs = param_inputs(gan_spec)
                gan_btn = gr.Button("New samples", variant="primary")
            copy_link_button(gan_spec, gan_inputs)
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

    # wiring: each main event under its spec's api_name; a section computes when first opened
    reparam = wire_demo(
        reparam_spec,
        reparam_inputs,
        {"figure": reparam_plot, "summary": reparam_summary, "numbers": reparam_numbers},
        main=reparam_btn.click,
        also=[reparam_inputs["f"].input],
        section=reparam_section,
        button=reparam_btn,
    )
    no_path = wire_demo(
        no_path_spec,
        no_path_inputs,
        {"summary": no_path_summary, "numbers": no_path_numbers},
        main=no_path_btn.click,
        also=[method.input],
        section=reparam_section,
        button=no_path_btn,
    )
    elbo_outputs = {
        "input": elbo_input,
        "figure": elbo_plot,
        "summary": elbo_summary,
        "numbers": elbo_numbers,
    }
    elbo = wire_demo(
        elbo_spec,
        elbo_inputs,
        elbo_outputs,
        main=elbo_btn.click,
        also=[elbo_inputs["index"].submit, elbo_section.expand],
        section=elbo_section,
        button=elbo_btn,
        on_open=False,
    )
    collapse_outputs = {
        "figure": collapse_plot,
        "summary": collapse_summary,
        "numbers": collapse_numbers,
    }
    collapse = wire_demo(
        collapse_spec,
        collapse_inputs,
        collapse_outputs,
        main=None,
        api_event=collapse_inputs["model"].change,
        also=[collapse_section.expand],
        section=collapse_section,
        on_open=False,
    )
    gan = wire_demo(
        gan_spec,
        gan_inputs,
        {**gan_images, "summary": gan_summary, "numbers": gan_numbers},
        main=gan_btn.click,
        also=[gan_section.expand],
        section=gan_section,
        button=gan_btn,
        on_open=False,
    )
    return [reparam, no_path, elbo, collapse, gan]
