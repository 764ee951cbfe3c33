//! A built-in corpus: short children's stories from a small random grammar (characters,
//! animals, places, objects, feelings, dialogue, openings and endings), deterministic for a
//! seed. Most stories open with "Once upon a time", the prompt the RL experiments use, and the
//! text has the natural share of words starting with "a" that English has (articles, "and",
//! "always", "apple", "Anna", …).

use std::cell::RefCell;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

/// `n` stories, the same for the same `seed`.
pub fn stories(seed: u64, n: usize) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| story(&mut rng)).collect()
}

/// One story, a paragraph of simple sentences.
pub fn story(rng: &mut StdRng) -> String {
    Teller::new(rng).tell()
}

const GIRLS: &[&str] = &[
    "Anna", "Lily", "Mia", "Amy", "Sue", "Ella", "Zoe", "Emma", "Ava", "Rosa", "Lucy", "Kate",
    "Sara", "Nina", "Alice", "Molly", "Daisy", "Ruby", "Grace", "Jane", "Abby", "Hannah",
];
const BOYS: &[&str] = &[
    "Ben", "Tom", "Max", "Sam", "Tim", "Leo", "Jack", "Adam", "Alex", "Finn", "Jake", "Bob",
    "Noah", "Andy", "Luke", "Theo", "Dan", "Eli", "Joe", "Arthur", "Henry", "Oscar",
];
const PERSON_ADJ: &[&str] = &[
    "little", "young", "kind", "happy", "shy", "brave", "curious", "clever", "friendly", "silly",
    "smart", "cheerful", "gentle", "playful", "busy",
];
const ANIMALS: &[&str] = &[
    "cat",
    "dog",
    "bunny",
    "bird",
    "fox",
    "bear",
    "duck",
    "frog",
    "mouse",
    "owl",
    "pig",
    "lion",
    "tiger",
    "puppy",
    "kitten",
    "horse",
    "sheep",
    "cow",
    "monkey",
    "turtle",
    "squirrel",
    "elephant",
    "ant",
    "alligator",
    "goat",
    "hen",
    "deer",
    "snail",
    "bee",
    "dolphin",
    "penguin",
    "giraffe",
    "zebra",
    "crab",
    "seal",
    "wolf",
    "dragon",
];
const ANIMAL_ADJ: &[&str] = &[
    "little", "big", "fluffy", "small", "old", "brown", "white", "tiny", "happy", "sleepy",
    "funny", "young", "brave", "gentle", "grumpy", "spotted", "hungry", "lazy", "noisy", "black",
];
const PLACES: &[&str] = &[
    "park",
    "garden",
    "forest",
    "farm",
    "town",
    "village",
    "beach",
    "house",
    "school",
    "meadow",
    "hill",
    "pond",
    "river",
    "lake",
    "zoo",
    "castle",
    "cave",
    "field",
    "yard",
    "city",
    "island",
    "jungle",
    "barn",
    "playground",
    "valley",
    "orchard",
    "market",
    "library",
    "mountain",
    "street",
];
const PLACE_ADJ: &[&str] = &[
    "big", "small", "quiet", "sunny", "green", "pretty", "old", "busy", "warm", "cold", "dark",
    "bright", "windy", "snowy", "peaceful", "faraway", "tiny", "magical", "colorful", "huge",
];
const OBJECTS: &[&str] = &[
    "ball",
    "kite",
    "apple",
    "box",
    "hat",
    "boat",
    "book",
    "cake",
    "flower",
    "shell",
    "key",
    "drum",
    "toy",
    "doll",
    "car",
    "train",
    "cup",
    "balloon",
    "rock",
    "stick",
    "leaf",
    "feather",
    "bell",
    "blanket",
    "map",
    "coin",
    "ring",
    "bucket",
    "shovel",
    "crayon",
    "picture",
    "umbrella",
    "acorn",
    "egg",
    "orange",
    "banana",
    "cookie",
    "pie",
    "star",
    "crown",
    "robot",
    "truck",
    "jar",
    "basket",
    "rope",
    "lamp",
    "mirror",
    "spoon",
    "teddy bear",
    "puzzle",
    "airplane",
    "scarf",
    "bike",
    "sandwich",
    "whistle",
    "pencil",
    "necklace",
    "rocket",
];
const OBJECT_ADJ: &[&str] = &[
    "red", "blue", "green", "yellow", "shiny", "soft", "big", "small", "round", "pretty", "new",
    "old", "funny", "magic", "special", "little", "purple", "pink", "golden", "heavy", "tiny",
    "amazing", "strange", "sparkly", "wooden", "striped", "orange", "silver", "bright", "lovely",
];
const HIDING: &[&str] = &[
    "under the bed",
    "behind a tree",
    "in a big box",
    "under a rock",
    "behind the door",
    "in the tall grass",
    "under the table",
    "near the pond",
    "on top of the shelf",
    "inside an old boot",
    "in the sand",
    "under a pile of leaves",
    "next to the fence",
    "in the kitchen",
    "at the bottom of the basket",
];
const GOOD_FEELINGS: &[&str] = &[
    "happy", "glad", "proud", "excited", "thankful", "calm", "joyful", "amazed", "cheerful",
];
const BAD_FEELINGS: &[&str] = &[
    "sad", "scared", "angry", "worried", "lonely", "upset", "afraid", "tired", "nervous", "grumpy",
];
const ACTIVITIES: &[&str] = &[
    "play in the sun",
    "run and jump",
    "look at the stars",
    "draw pictures",
    "read books",
    "sing songs",
    "bake cookies",
    "build a sand castle",
    "splash in the water",
    "chase butterflies",
    "pick flowers",
    "climb trees",
    "play hide and seek",
    "dance all day",
    "count the clouds",
    "eat apples",
    "explore new places",
    "listen to the birds",
    "make new friends",
    "paint the sky",
    "swim in the lake",
    "roll down the hill",
    "ask a lot of questions",
    "help around the house",
    "play games with friends",
];
const WEATHER: &[&str] = &[
    "The sun was shining",
    "The sky was blue",
    "It was a warm day",
    "It was a cold morning",
    "The wind was blowing",
    "It was a rainy afternoon",
    "Snow was falling",
    "The birds were singing",
    "It was a bright and sunny day",
    "The leaves were falling",
];
const SAY: &[&str] = &[
    "said",
    "said",
    "said",
    "asked",
    "shouted",
    "whispered",
    "cried",
    "laughed",
];
const REPLY: &[&str] = &["said", "said", "answered", "replied", "smiled"];
const HAPPY_LINES: &[&str] = &[
    "This is the best day ever!",
    "Thank you so much!",
    "You are a good friend.",
    "Let's play again tomorrow!",
    "I love it!",
    "We did it!",
    "That was fun!",
    "I am so happy!",
    "You are amazing!",
    "Can we do this again?",
];
const MORALS: &[&str] = &[
    "sharing is caring",
    "it is good to help others",
    "friends make everything better",
    "it is good to be kind",
    "saying sorry is important",
    "being brave is not so hard",
    "it is fun to try new things",
    "you should always tell the truth",
    "it is good to listen",
    "working together is better",
    "patience is a good thing",
];

#[derive(Clone)]
struct Character {
    /// How the story names it after the introduction: "Anna", "the cat".
    name: String,
    /// Its introduction after "there was": "a little girl named Anna", "a fluffy cat".
    intro: String,
    subject: &'static str,
    object: &'static str,
    possessive: &'static str,
}

/// Writes one story. Interior mutability lets a sentence draw its words while it is written.
struct Teller<'r> {
    rng: RefCell<&'r mut StdRng>,
    out: RefCell<Vec<String>>,
}

fn article(word: &str) -> &'static str {
    match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u' | 'A' | 'E' | 'I' | 'O' | 'U') => "an",
        _ => "a",
    }
}

/// `a`/`an` followed by `phrase`.
fn with_article(phrase: &str) -> String {
    format!("{} {phrase}", article(phrase))
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl<'r> Teller<'r> {
    fn new(rng: &'r mut StdRng) -> Self {
        Self {
            rng: RefCell::new(rng),
            out: RefCell::new(Vec::new()),
        }
    }

    fn pick(&self, list: &[&'static str]) -> &'static str {
        list.choose(&mut **self.rng.borrow_mut())
            .copied()
            .unwrap_or("")
    }

    fn chance(&self, p: f64) -> bool {
        self.rng.borrow_mut().random_bool(p)
    }

    fn range(&self, n: u32) -> u32 {
        self.rng.borrow_mut().random_range(0..n)
    }

    fn say(&self, sentence: String) {
        self.out.borrow_mut().push(capitalize(&sentence));
    }

    fn character(&self, avoid: Option<&str>) -> Character {
        loop {
            let c = if self.chance(0.6) {
                let girl = self.chance(0.5);
                let name = self.pick(if girl { GIRLS } else { BOYS });
                let kind = if girl { "girl" } else { "boy" };
                let adj = self.pick(PERSON_ADJ);
                Character {
                    name: name.into(),
                    intro: format!("{} named {name}", with_article(&format!("{adj} {kind}"))),
                    subject: if girl { "she" } else { "he" },
                    object: if girl { "her" } else { "him" },
                    possessive: if girl { "her" } else { "his" },
                }
            } else {
                let animal = self.pick(ANIMALS);
                let adj = self.pick(ANIMAL_ADJ);
                let female = self.chance(0.5);
                let intro = if self.chance(0.3) {
                    let name = self.pick(if female { GIRLS } else { BOYS });
                    let c = Character {
                        name: name.into(),
                        intro: format!("{} named {name}", with_article(&format!("{adj} {animal}"))),
                        subject: "",
                        object: "",
                        possessive: "",
                    };
                    Some(c)
                } else {
                    None
                };
                let (name, intro) = match intro {
                    Some(c) => (c.name, c.intro),
                    None => (
                        format!("the {animal}"),
                        with_article(&format!("{adj} {animal}")),
                    ),
                };
                Character {
                    name,
                    intro,
                    subject: if female { "she" } else { "he" },
                    object: if female { "her" } else { "him" },
                    possessive: if female { "her" } else { "his" },
                }
            };
            if avoid != Some(c.name.as_str()) {
                return c;
            }
        }
    }

    fn place(&self) -> String {
        let place = self.pick(PLACES);
        match self.range(3) {
            0 => format!(
                "in {}",
                with_article(&format!("{} {place}", self.pick(PLACE_ADJ)))
            ),
            1 => format!(
                "near {}",
                with_article(&format!("{} {place}", self.pick(PLACE_ADJ)))
            ),
            _ => format!("in the {place}"),
        }
    }

    fn thing(&self) -> (String, String) {
        let object = self.pick(OBJECTS);
        let adj = self.pick(OBJECT_ADJ);
        (object.to_string(), format!("{adj} {object}"))
    }

    fn opening(&self, hero: &Character) {
        let place = self.place();
        let sentence = match self.range(10) {
            0..=5 => format!(
                "Once upon a time, there was {} who lived {place}.",
                hero.intro
            ),
            6 => format!("Once upon a time, {place}, there lived {}.", hero.intro),
            7 => format!("One day, {} was playing {place}.", hero.intro),
            8 => format!("There once was {} who lived {place}.", hero.intro),
            _ => format!("Long ago, {place}, there lived {}.", hero.intro),
        };
        self.say(sentence);
    }

    fn routine(&self, hero: &Character) {
        let activity = self.pick(ACTIVITIES);
        let sentence = match self.range(4) {
            0 => format!("{} loved to {activity}.", hero.subject),
            1 => format!("Every day, {} liked to {activity}.", hero.name),
            2 => format!("{} always wanted to {activity}.", hero.name),
            _ => format!(
                "{} and {} family liked to {activity}.",
                hero.name, hero.possessive
            ),
        };
        self.say(sentence);
        if self.chance(0.5) {
            let weather = self.pick(WEATHER);
            self.say(format!(
                "{weather}, and {} was {}.",
                hero.name,
                self.pick(GOOD_FEELINGS)
            ));
        }
    }

    fn line(&self, who: &Character, words: &str, verb: &[&'static str]) {
        let verb = self.pick(verb);
        self.say(format!("\"{words}\" {verb} {}.", who.name));
    }

    fn tell(self) -> String {
        let hero = self.character(None);
        let friend = self.character(Some(&hero.name));
        self.opening(&hero);
        self.routine(&hero);
        let (object, described) = self.thing();
        let good = self.pick(GOOD_FEELINGS);
        let bad = self.pick(BAD_FEELINGS);
        match self.range(5) {
            // Lost and found.
            0 => {
                self.say(format!(
                    "{} had {} that {} loved very much.",
                    hero.name,
                    with_article(&described),
                    hero.subject
                ));
                self.say(format!(
                    "One day, {} could not find {} {object}.",
                    hero.subject, hero.possessive
                ));
                self.say(format!("{} looked everywhere and felt {bad}.", hero.name));
                self.line(&hero, &format!("Where is my {object}?"), SAY);
                self.say(format!("Then {} came by.", friend.intro));
                self.line(&friend, "Don't worry, I will help you look!", REPLY);
                let place = self.pick(HIDING);
                self.say(format!(
                    "They looked and looked, and at last they found the {object} {place}."
                ));
                self.say(format!("{} was so {good}.", hero.name));
                let thanks = self.pick(HAPPY_LINES);
                self.line(&hero, thanks, SAY);
            }
            // Sharing after a quarrel.
            1 => {
                self.say(format!(
                    "One day, {} and {} found {} {}.",
                    hero.name,
                    friend.intro,
                    with_article(&described),
                    self.place()
                ));
                self.line(&hero, "It is mine! I saw it first!", SAY);
                self.line(&friend, &format!("No, I want the {object}!"), SAY);
                self.say(format!(
                    "They pulled and pulled, and both of them felt {bad}."
                ));
                self.say(format!("Then {} had an idea.", hero.name));
                self.line(
                    &hero,
                    &format!("Let's share the {object} and play together."),
                    SAY,
                );
                self.say(format!(
                    "{} smiled, and they took turns with the {object} all afternoon.",
                    friend.name
                ));
                self.say(format!("They were {good} and had a lot of fun."));
            }
            // Helping someone in trouble.
            2 => {
                self.say(format!(
                    "One day, {} saw {} {}.",
                    hero.name,
                    friend.intro,
                    self.place()
                ));
                self.say(format!(
                    "{} was {bad} because {} {object} was stuck up in a tall tree.",
                    friend.name, friend.possessive
                ));
                self.line(&hero, "What is wrong?", &["asked"]);
                self.line(
                    &friend,
                    &format!("My {object} is stuck and I cannot get it."),
                    REPLY,
                );
                self.say(format!(
                    "{} wanted to help, so {} climbed up and got the {object} down.",
                    hero.name, hero.subject
                ));
                let thanks = self.pick(HAPPY_LINES);
                self.line(&friend, thanks, SAY);
                self.say(format!(
                    "{} felt {good}, and {} became good friends.",
                    hero.name,
                    if self.chance(0.5) { "they" } else { "the two" }
                ));
            }
            // A surprise gift.
            3 => {
                self.say(format!(
                    "One morning, {} found {} at the door.",
                    hero.name,
                    with_article(&format!("{} box", self.pick(OBJECT_ADJ)))
                ));
                self.say(format!("Inside the box was {}!", with_article(&described)));
                self.line(&hero, &format!("Who gave me this {object}?"), SAY);
                self.say(format!(
                    "{} went to ask {} about it.",
                    capitalize(hero.subject),
                    friend.intro
                ));
                self.line(&friend, "I did, because you are my best friend.", REPLY);
                self.say(format!("{} gave {} a big hug.", hero.name, friend.object));
                self.say(format!(
                    "They played with the {object} {} until the sun went down.",
                    self.place()
                ));
            }
            // A scary noise that turns out fine.
            _ => {
                self.say(format!(
                    "One night, {} heard a strange noise {}.",
                    hero.name,
                    self.pick(HIDING)
                ));
                self.say(format!("{} was very {bad}.", capitalize(hero.subject)));
                self.line(&hero, "Who is there?", &["asked", "whispered"]);
                self.say(format!(
                    "It was only {}, who was looking for {} {object}.",
                    friend.intro, friend.possessive
                ));
                self.say(format!(
                    "{} laughed, and {} was not {bad} anymore.",
                    hero.name, hero.subject
                ));
                self.say(format!(
                    "Together they found the {described}, and then they ate {} and {}.",
                    with_article(
                        self.pick(&["apple", "cookie", "cake", "orange", "pie", "banana"])
                    ),
                    self.pick(&[
                        "went to sleep",
                        "laughed a lot",
                        "sang a song",
                        "watched the moon"
                    ])
                ));
            }
        }
        let ending = match self.range(6) {
            0 => format!(
                "From that day on, {} and {} were best friends.",
                hero.name, friend.name
            ),
            1 => format!("{} learned that {}.", hero.name, self.pick(MORALS)),
            2 => "And they all lived happily ever after.".to_string(),
            3 => format!(
                "After that, {} always remembered to {}.",
                hero.name,
                self.pick(ACTIVITIES)
            ),
            4 => "The end.".to_string(),
            _ => format!(
                "It was a good day, and {} went home {}.",
                hero.name,
                self.pick(GOOD_FEELINGS)
            ),
        };
        self.say(ending);
        self.out.into_inner().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn same_seed_same_stories_other_seed_other_stories() {
        assert_eq!(stories(7, 50), stories(7, 50));
        assert_ne!(stories(7, 50), stories(8, 50));
    }

    #[test]
    fn vocabulary_is_several_hundred_words() {
        let words: HashSet<String> = stories(0, 3000)
            .iter()
            .flat_map(|s| {
                s.split_whitespace()
                    .map(|w| w.trim_matches(|c: char| !c.is_alphabetic()).to_lowercase())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(words.len() >= 400, "{} distinct words", words.len());
    }

    #[test]
    fn stories_are_distinct() {
        let all = stories(1, 2000);
        let distinct: HashSet<&String> = all.iter().collect();
        assert_eq!(distinct.len(), all.len());
    }

    #[test]
    fn articles_agree_with_the_next_word() {
        assert_eq!(with_article("old owl"), "an old owl");
        assert_eq!(with_article("big apple"), "a big apple");
    }
}
