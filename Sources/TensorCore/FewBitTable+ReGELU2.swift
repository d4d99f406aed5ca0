extension FewBitTable {
    /// Approx-BP's ReGELU2 derivative as a 2-bit table: the step function that
    /// Yang et al. ("Reducing Fine-Tuning Memory Overhead by Approximate and Memory-Sharing
    /// Backpropagation", ICML 2024; `yyyyychen/LowMemoryBP`) use in GELU's backward.
    ///
    /// Their definition: with the published constants
    ///
    ///     c = (-3.1858810036855245, -0.001178821281161997, 3.190832613414926)
    ///     a = (-0.04922261145617846, 1.0979632065417297, -0.048740595085551286)
    ///
    /// the backward is `gradIn = gradOut * sum_i a_i [x > c_i]`: the derivative of
    /// `sum_i a_i ReLU(x - c_i)`, a combination of ReLUs fitted to GELU itself (not to GELU'),
    /// kept as 2 bits per element (how many c_i lie below x). As a ``FewBitTable`` the
    /// borders are c (as float32, as their kernels compare) and the levels the partial sums
    /// (0, a_0, a_0 + a_1, a_0 + a_1 + a_2), summed in float64 and rounded once; a value
    /// equal to a border goes to the lower piece, as their strict `x > c_i`.
    ///
    /// Being fitted to the function, its derivative error is larger than the optimal
    /// tables': ``l2Error`` 7.84e-4 on the uniform weight, above even the optimal 1-bit
    /// table's 7.05e-4 (2 bits: 2.24e-4). ``lowerBound`` is 0 (nothing is certified).
    ///
    /// ```swift
    /// let table = FewBitTable.reGELU2
    /// table.borders          // [-3.18588, -0.00117882, 3.19083]
    /// table.levels           // [0, -0.0492226, 1.04874, 1.0]
    /// table.level(for: 0.5)  // 1.04874
    /// ```
    public static let reGELU2: FewBitTable = {
        let borders: [Double] = [-3.1858810036855245, -0.001178821281161997, 3.190832613414926]
        let steps: [Double] = [-0.04922261145617846, 1.0979632065417297, -0.048740595085551286]
        var levels: [Double] = [0]
        for step in steps { levels.append(levels[levels.count - 1] + step) }
        let storedBorders = borders.map { Float($0) }, storedLevels = levels.map { Float($0) }
        let solver = FewBitSolver(derivative: { Activation.gelu.derivative($0) }, weight: .uniform(-100, 100))
        let error = solver.error(borders: storedBorders.map(Double.init), levels: storedLevels.map(Double.init))
        return FewBitTable(bits: 2, borders: storedBorders, levels: storedLevels, l2Error: error)
    }()
}
