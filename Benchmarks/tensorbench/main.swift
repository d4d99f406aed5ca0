import TensorEngine
print("tensorbench")
