#!/usr/bin/env bash
# The image-to-image closing tables (issue 5): train each family with a stated budget, then
# measure it on held-out data with `python -m trainers evaluate` next to its naive baselines.
#
#   bash bench/image_to_image_tables.sh SECTION...   (translation cyclegan srresnet_x4 sr esrgan dip;
#                                                     default all, in that order)
#
# Runs go to $RUNS (default runs/tables); each evaluation also writes RUN.json. One thread per
# process by default so two sections can run side by side on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs/tables}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} GAN_OFFLINE=${GAN_OFFLINE:-1}
mkdir -p "$RUNS"
gan() { python -m trainers "$@"; }
timed() {  # timed NAME CMD...: run CMD, log to RUNS/NAME.log, note the wall time
  local name=$1; shift
  local start=$SECONDS
  "$@" > "$RUNS/$name.log" 2>&1
  echo "$name: $((SECONDS - start)) s" | tee -a "$RUNS/times.txt"
}
train() { gan train --quiet --log-every 100 --sample-every 1000000 "$@"; }

translation() {  # pix2pix on facades (label map -> photo), the standard 400 / 106 split
  timed pix2pix-facades train --model pix2pix --dataset facades --preset cpu-small --steps 2500 \
    --batch-size 4 --out "$RUNS/pix2pix-facades"
  gan evaluate --checkpoint "$RUNS/pix2pix-facades" --json "$RUNS/pix2pix-facades.json"
}

cyclegan() {  # MNIST <-> colorized MNIST (digit kept after a round trip) and facades unpaired
  timed mnist-judge train --model multiclass-discriminator --dataset mnist --steps 3000 --batch-size 64 \
    --out "$RUNS/mnist-judge"
  timed cyclegan-mnist train --model cyclegan --dataset mnist-colorized --preset mnist --steps 1000 \
    --batch-size 8 --out "$RUNS/cyclegan-mnist"
  gan evaluate --checkpoint "$RUNS/cyclegan-mnist" --classifier "$RUNS/mnist-judge" \
    --json "$RUNS/cyclegan-mnist.json"
  timed cyclegan-facades train --model cyclegan --dataset facades-unpaired --preset cpu-small --steps 1200 \
    --batch-size 1 --out "$RUNS/cyclegan-facades"
  gan evaluate --checkpoint "$RUNS/cyclegan-facades" --json "$RUNS/cyclegan-facades.json"
}

srresnet_x4() {  # SRResNet (SRGAN's MSE phase) at x4, constant rate as measured: about 50 min on one thread
  timed srresnet-x4 train --model srgan --dataset sr-natural --preset cpu-small --set pretrain_steps=1000000 \
    --set decay_from=1 --steps 4000 --batch-size 16 --out "$RUNS/srresnet-x4"
  gan evaluate --checkpoint "$RUNS/srresnet-x4" --json "$RUNS/srresnet-x4.json"
}

sr() {  # SRGAN's GAN phase from the x4 SRResNet (run srresnet_x4 first), and SRResNet x2
  timed srgan-x4 train --model srgan --dataset sr-natural --preset cpu-small --set pretrain_steps=0 \
    --init-from "$RUNS/srresnet-x4" --steps 300 --batch-size 16 --out "$RUNS/srgan-x4"
  gan evaluate --checkpoint "$RUNS/srgan-x4" --json "$RUNS/srgan-x4.json"
  # x2 on 48-pixel crops: the same 24-pixel inputs, so the same cost per step as x4
  timed srresnet-x2 train --model srgan --dataset sr-natural --preset cpu-small --image-size 48 \
    --set scale=2 --set pretrain_steps=1000000 --steps 1500 --batch-size 16 --out "$RUNS/srresnet-x2"
  gan evaluate --checkpoint "$RUNS/srresnet-x2" --json "$RUNS/srresnet-x2.json"
}

esrgan() {  # ESRGAN x4: the PSNR-oriented RRDB net, its GAN phase, and the interpolation between them
  timed esrgan-psnr-x4 train --model esrgan --dataset sr-natural --preset cpu-small --set pretrain_steps=1000000 \
    --steps 1500 --batch-size 16 --out "$RUNS/esrgan-psnr-x4"
  gan evaluate --checkpoint "$RUNS/esrgan-psnr-x4" --json "$RUNS/esrgan-psnr-x4.json"
  timed esrgan-x4 train --model esrgan --dataset sr-natural --preset cpu-small --set pretrain_steps=0 \
    --init-from "$RUNS/esrgan-psnr-x4" --steps 200 --batch-size 16 --out "$RUNS/esrgan-x4"
  for alpha in 0 0.5 0.8 1; do
    gan evaluate --checkpoint "$RUNS/esrgan-x4" --alpha "$alpha" --json "$RUNS/esrgan-x4-alpha$alpha.json"
  done
}

dip() {  # deep image prior: three scikit-image pictures x three built-in masks, 256 pixels
  for image in astronaut camera coffee; do
    for mask in text holes box; do
      timed "dip-$image-$mask" train --model dip-inpaint --dataset "inpaint:$image:$mask" --preset cpu-small \
        --image-size 256 --steps 600 --batch-size 1 --out "$RUNS/dip-$image-$mask"
      gan evaluate --checkpoint "$RUNS/dip-$image-$mask" --json "$RUNS/dip-$image-$mask.json"
    done
  done
}

for section in "${@:-translation cyclegan srresnet_x4 sr esrgan dip}"; do
  for name in $section; do "$name"; done
done
