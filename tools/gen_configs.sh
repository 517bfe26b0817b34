#!/usr/bin/env bash
# Writes configs/{cifar100,imagenet}/<method>/<teacher>-<student>.yaml: one
# experiment per benchmark pair and method, with the recipes of MODELS.md
# section 6 (per-pair objective settings, e.g. DKD's beta, are applied by the
# objectives themselves from the model names). Rerun after changing a recipe.
set -euo pipefail
cd "$(dirname "$0")/.."

cifar_pairs="resnet56:resnet20 resnet110:resnet20 resnet110:resnet32 resnet32x4:resnet8x4
wrn_40_2:wrn_16_2 wrn_40_2:wrn_40_1 vgg13:vgg8 vgg13:MobileNetV2 ResNet50:MobileNetV2
ResNet50:vgg8 resnet32x4:ShuffleV1 resnet32x4:ShuffleV2 wrn_40_2:ShuffleV1"
imagenet_pairs="resnet34_imagenet:resnet18_imagenet resnet50_imagenet:MobileNetV1"
methods="kd cskd cskd-full dkd dist dtkd ctkd cmkd stkd bpkd"

# 0.01 for the MobileNet/ShuffleNet students and teachers, 0.05 otherwise (RepDistiller).
cifar_lr() { case $1 in MobileNetV2|ShuffleV1|ShuffleV2) echo 0.01 ;; *) echo 0.05 ;; esac; }

cifar100() {  # student teacher method lr epochs comment
  cat <<YAML
# CIFAR-100, $3: $2 -> $1. $6
# Point data.train at your copy: --set data.train=cifar100:DIR (the binary release or class folders).
seed: 0
epochs: $5
data:
  train: cifar100:data/cifar-100-binary
  batch_size: 64
model:
  student: $1
YAML
  if [ -n "$2" ]; then
    printf '  teacher: %s\n  teacher_weights: teachers/cifar100/%s.safetensors\nmethod:\n  name: %s\n' "$2" "$2" "$3"
  fi
  cat <<YAML
optim:
  name: sgd
  lr: $4
  momentum: 0.9
  weight_decay: 5e-4
schedule:
  kind: multistep
  milestones: [150, 180, 210]
  gamma: 0.1
YAML
}

imagenet() {  # student teacher method
  cat <<YAML
# ImageNet, $3: $2 -> $1. The recipe of mdistiller/torchdistill at batch 256 (MODELS.md 6.2).
# Point data.train at your copy: --set data.train=imagefolder:DIR (DIR/train, DIR/val class folders).
seed: 0
epochs: 100
data:
  train: imagefolder:data/imagenet
  batch_size: 256
  test_batch_size: 128
model:
  student: $1
YAML
  if [ -n "$2" ]; then
    printf '  teacher: %s\n  teacher_weights: teachers/imagenet/%s.safetensors\nmethod:\n  name: %s\n' "$2" "$2" "$3"
  fi
  cat <<YAML
optim:
  name: sgd
  lr: 0.1
  momentum: 0.9
  weight_decay: 1e-4
schedule:
  kind: multistep
  milestones: [30, 60, 90]
  gamma: 0.1
YAML
}

rm -rf configs/cifar100 configs/imagenet
mkdir -p configs/cifar100/alone configs/imagenet/alone
for pair in $cifar_pairs; do
  t=${pair%%:*} s=${pair##*:}
  for m in "$t" "$s"; do
    cifar100 "$m" "" none "$(cifar_lr "$m")" 240 "Cross-entropy only: a teacher or the student baseline." \
      | sed "1s/.*/# CIFAR-100, cross-entropy only: $m (a teacher or the student baseline)./" > "configs/cifar100/alone/$m.yaml"
  done
  for method in $methods; do
    mkdir -p "configs/cifar100/$method"
    lr=$(cifar_lr "$s") epochs=240 note="The standard recipe (MODELS.md 6.1)."
    if [ "$method" = cskd-full ]; then
      # The CSKD reference configs: two views, half the LR, 480 epochs, milestones unchanged.
      lr=$([ "$lr" = 0.01 ] && echo 0.01 || echo 0.025) epochs=480 note="The CSKD reference recipe (MODELS.md 6.1)."
    fi
    cifar100 "$s" "$t" "$method" "$lr" "$epochs" "$note" > "configs/cifar100/$method/$t-$s.yaml"
  done
done
for pair in $imagenet_pairs; do
  t=${pair%%:*} s=${pair##*:}
  for m in "$t" "$s"; do
    imagenet "$m" "" none | sed "1s/.*/# ImageNet, cross-entropy only: $m./" > "configs/imagenet/alone/$m.yaml"
  done
  for method in $methods; do
    [ "$method" = cskd-full ] && continue  # its two-view recipe is defined for CIFAR only
    mkdir -p "configs/imagenet/$method"
    imagenet "$s" "$t" "$method" > "configs/imagenet/$method/$t-$s.yaml"
  done
done
echo "gen_configs: $(find configs/cifar100 configs/imagenet -name '*.yaml' | wc -l) configs"
