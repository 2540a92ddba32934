"""Backbones. Importing this package registers them."""

from .resnet45 import PRESETS, BasicBlock, Bottleneck, ClassicBasicBlock, ResNet, ResNet18, ResNet45, ResNet50

__all__ = ["PRESETS", "BasicBlock", "Bottleneck", "ClassicBasicBlock", "ResNet", "ResNet18", "ResNet45", "ResNet50"]
