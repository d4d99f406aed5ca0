// Built by CMake against an installed TensorEngine (see CMakeLists.txt next to this file):
// a 2x3 by 3x2 product on the CPU backend, checked against the hand-computed result.
import TensorEngine

#if canImport(Glibc)
import Glibc
#endif

let device = Device.cpu
let a = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3], on: device)
let b = try Tensor([7, 8, 9, 10, 11, 12], shape: [3, 2], on: device)
let c = try matmul(a, b)
let values = try c.toArray()
let expected: [Float] = [58, 64, 139, 154]

guard c.shape == [2, 2], values == expected else {
    print("cmake-consumer: FAILED: matmul gave shape \(c.shape) values \(values), expected [2, 2] \(expected)")
    exit(1)
}
print("cmake-consumer: OK on \(device.description): \(values)")
