"""Names the Keras config analysis judges: Keras packages, built-in classes, and the
functions that loading a config can call to reach files, the network or unsafe mode.

Kept apart from the walker so the tables can grow without touching the logic.
"""

from __future__ import annotations

KERAS_ROOTS = frozenset(
    {"keras", "tf_keras", "tensorflow.keras", "tensorflow.python.keras", "keras_hub"}
    | {"keras_nlp", "keras_cv", "keras_rs"}
)
"""Packages whose classes Keras itself resolves (no attacker-chosen import)."""

TF_ROOTS = frozenset({"tensorflow", "tf"})

# Keras functions that a config can make loading call (CVE-2025-1550 and its sequels:
# CVE-2025-8747 get_file, CVE-2025-9906 enable_unsafe_deserialization).
KERAS_DANGEROUS_FUNCTIONS: dict[str, str] = {
    "enable_unsafe_deserialization": "turns safe mode off, so later Lambda layers run",
    "set_global_attribute": "rewrites Keras global state (safe mode)",
    "func_load": "turns marshalled bytecode into a function",
    "deserialize_keras_object": "deserialises a nested config outside the loader's checks",
    "load_model": "loads another model (unsafe mode can be requested)",
    "load_weights": "reads a file chosen by the config",
    "get_file": "downloads a URL to a path chosen by the config (file overwrite)",
    "load_data": "downloads data sets",
    "plot_model": "writes a file and runs the graphviz program",
    "model_to_dot": "runs the graphviz program",
    "save_model": "writes a file chosen by the config",
    "save": "writes a file chosen by the config",
    "save_img": "writes a file chosen by the config",
    "load_img": "reads a file chosen by the config",
    "image_dataset_from_directory": "reads a folder chosen by the config",
    "text_dataset_from_directory": "reads a folder chosen by the config",
    "audio_dataset_from_directory": "reads a folder chosen by the config",
    "register_keras_serializable": "registers new objects during loading",
}

# Module families whose functions models legitimately reference.
KERAS_FUNCTION_FAMILIES = frozenset(
    {
        "activations",
        "losses",
        "metrics",
        "ops",
        "initializers",
        "regularizers",
        "constraints",
        "optimizers",
        "random",
        "applications",
        "backend",
        "layers",
        "models",
        "numpy",
        "nn",
        "math",
        "image",
        "linalg",
        "core",
    }
)

# TensorFlow symbols a TFOpLambda layer (or a function reference) may name.
TF_CODE_FUNCTIONS = ("py_function", "numpy_function", "py_func", "load_library", "load_op_library")
TF_FILE_FUNCTIONS = (
    "io.write_file",
    "io.read_file",
    "io.gfile",
    "io.matching_files",
    "read_file",
    "write_file",
    "gfile",
    "data.TFRecordDataset",
    "data.TextLineDataset",
    "summary.create_file_writer",
    "debugging.experimental.enable_dump_debug_info",
)

# Layers whose config names a file or URL that loading opens (GHSA-qg93-c7p6-gg7f for
# StringLookup vocabularies; TFSMLayer loads a whole SavedModel from its path).
FILE_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "StringLookup": ("vocabulary",),
    "IntegerLookup": ("vocabulary",),
    "IndexLookup": ("vocabulary",),
    "TextVectorization": ("vocabulary",),
    "TFSMLayer": ("filepath",),
}

SPECIAL_CLASSES = frozenset(
    {
        "__tuple__",
        "__bytes__",
        "__numpy__",
        "__tensor__",
        "__keras_tensor__",
        "__ellipsis__",
        "__slice__",
        "__typespec__",
        "__passive_serialization__",
        "__lambda__",
        "function",
    }
)

_LAYERS = """
    Activation ActivityRegularization Add AdditiveAttention AlphaDropout Attention Average
    AveragePooling1D AveragePooling2D AveragePooling3D AvgPool1D AvgPool2D AvgPool3D
    BatchNormalization Bidirectional CategoryEncoding CenterCrop Concatenate Conv1D
    Conv1DTranspose Conv2D Conv2DTranspose Conv3D Conv3DTranspose ConvLSTM1D ConvLSTM2D
    ConvLSTM3D Convolution1D Convolution2D Convolution3D Cropping1D Cropping2D Cropping3D
    Dense DenseFeatures DepthwiseConv1D DepthwiseConv2D Discretization Dot Dropout
    EinsumDense ELU Embedding Flatten GaussianDropout GaussianNoise GlobalAveragePooling1D
    GlobalAveragePooling2D GlobalAveragePooling3D GlobalAvgPool1D GlobalAvgPool2D
    GlobalAvgPool3D GlobalMaxPool1D GlobalMaxPool2D GlobalMaxPool3D GlobalMaxPooling1D
    GlobalMaxPooling2D GlobalMaxPooling3D GroupNormalization GroupQueryAttention GRU GRUCell
    Hashing HashedCrossing Identity InputLayer InputSpec IntegerLookup Lambda Layer
    LayerNormalization LeakyReLU LSTM LSTMCell Masking Maximum MaxPool1D MaxPool2D MaxPool3D
    MaxPooling1D MaxPooling2D MaxPooling3D Minimum MultiHeadAttention Multiply Normalization
    Permute PReLU RandomBrightness RandomContrast RandomCrop RandomFlip RandomHeight
    RandomRotation RandomTranslation RandomWidth RandomZoom RepeatVector Rescaling Reshape
    Resizing RNN ReLU SeparableConv1D SeparableConv2D SeparableConvolution1D
    SeparableConvolution2D SimpleRNN SimpleRNNCell Softmax SpatialDropout1D SpatialDropout2D
    SpatialDropout3D SpectralNormalization StackedRNNCells StringLookup Subtract
    TextVectorization ThresholdedReLU TimeDistributed UnitNormalization UpSampling1D
    UpSampling2D UpSampling3D Wrapper ZeroPadding1D ZeroPadding2D ZeroPadding3D TFOpLambda
    SlicingOpLambda TFSMLayer EinsumDense MelSpectrogram STFTSpectrogram AutoContrast
    Equalization RandAugment RandomColorDegeneration RandomColorJitter RandomGrayscale
    RandomHue RandomSaturation RandomSharpness Solarization MixUp Pipeline RMSNormalization
    RandomErasing RandomGaussianBlur RandomPerspective RandomElasticTransform
    RandomInvert RandomPosterization CutMix AugMix ReversibleEmbedding
"""
_MODELS = "Model Functional Sequential Node KerasHistory"
_INITIALIZERS = """
    Constant GlorotNormal GlorotUniform HeNormal HeUniform Identity LecunNormal LecunUniform
    Ones Orthogonal RandomNormal RandomUniform TruncatedNormal VarianceScaling Zeros
    IdentityInitializer OrthogonalInitializer STFTInitializer
"""
_REGULARIZERS_CONSTRAINTS = """
    L1 L2 L1L2 OrthogonalRegularizer MaxNorm MinMaxNorm NonNeg RadialConstraint UnitNorm
"""
_OPTIMIZERS = """
    SGD RMSprop Adam AdamW Adadelta Adagrad Adamax Adafactor Nadam Ftrl Lion Lamb Loss
    LossScaleOptimizer Muon ExponentialDecay PiecewiseConstantDecay PolynomialDecay
    InverseTimeDecay CosineDecay CosineDecayRestarts LearningRateSchedule
"""
_LOSSES_METRICS = """
    BinaryCrossentropy BinaryFocalCrossentropy CategoricalCrossentropy
    CategoricalFocalCrossentropy CategoricalHinge CosineSimilarity Dice Hinge Huber KLDivergence
    LogCosh MeanAbsoluteError MeanAbsolutePercentageError MeanSquaredError
    MeanSquaredLogarithmicError Poisson SparseCategoricalCrossentropy SquaredHinge Tversky
    Circle CTC LossFunctionWrapper AUC Accuracy BinaryAccuracy BinaryIoU CategoricalAccuracy
    F1Score FBetaScore FalseNegatives FalsePositives IoU KLDivergence LogCoshError Mean
    MeanIoU MeanMetricWrapper MeanTensor Metric OneHotIoU OneHotMeanIoU Precision
    PrecisionAtRecall R2Score Recall RecallAtPrecision RootMeanSquaredError
    SensitivityAtSpecificity SparseCategoricalAccuracy SparseTopKCategoricalAccuracy
    SpecificityAtSensitivity Sum TopKCategoricalAccuracy TrueNegatives TruePositives
    MetricsList CompileMetrics CompileLoss LossesContainer MetricsContainer
"""
_POLICIES = "Policy DTypePolicy FloatDTypePolicy QuantizedDTypePolicy QuantizedFloat8DTypePolicy"
_POLICIES += " DTypePolicyMap GPTQDTypePolicy Int4DTypePolicy"

_ALL = (_LAYERS, _MODELS, _INITIALIZERS, _REGULARIZERS_CONSTRAINTS, _OPTIMIZERS, _LOSSES_METRICS)
KNOWN_CLASSES = frozenset(" ".join((*_ALL, _POLICIES)).split())
"""Keras built-in class names (Keras 2 and 3), for configs that carry no ``module``."""
