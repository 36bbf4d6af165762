//! The words sample data is made of: group names, descriptions, phrases in
//! several languages and scripts, reactions.

pub(super) const GROUP_NAMES: &[&str] = &[
    "Weekend hikers 🥾",
    "家族",
    "فريق التصميم",
    "Équipe produit",
    "Книжный клуб",
    "Founders ☕",
    "Climbing crew 🧗‍♀️",
    "麻將 Friday",
    "משפחה",
    "Kochgruppe 🍝",
    "Board game night 🎲",
    "Release 2.0",
    "동창회",
    "Ολυμπιακός fans",
    "Lunch",
];

pub(super) const DESCRIPTIONS: &[&str] = &[
    "Plans, photos and the occasional argument about routes",
    "仕事の連絡はこちらへ",
    "نقاشات المشروع والتصاميم",
    "Tout ce qui concerne la sortie du produit",
    "Only memes after 6pm 🌙",
    "Рецепты и обсуждение книг",
];

pub(super) const PHRASES: &[&str] = &[
    "See you tomorrow at the station",
    "Did anyone bring the charger?",
    "Running 10 minutes late, sorry!",
    "Sounds good 👍",
    "lol",
    "ok",
    "Can you send me the address again?",
    "Happy birthday!! 🎉🎂",
    "👩‍💻 shipping it tonight",
    "On se retrouve à 19h ?",
    "Merci beaucoup, c'était génial",
    "Schöne Grüße aus München",
    "¿Quién viene el sábado?",
    "明日の会議は10時からです",
    "我们周末去爬山吧",
    "오늘 저녁 뭐 먹을까요?",
    "مرحبا، كيف حالك؟",
    "שבת שלום לכולם",
    "Отправил файлы, проверь пожалуйста",
    "कल मिलते हैं",
    "Καλημέρα σε όλους",
    "🇯🇵✈️🗻",
    "The build is green again ✅",
    "I'll pick up the keys — leave them with Ana",
    "Photos from yesterday are in the shared album 📸",
];

pub(super) const REACTIONS: &[&str] = &["👍", "❤️", "😂", "🎉", "🙏", "😮", "👀", "🔥"];
