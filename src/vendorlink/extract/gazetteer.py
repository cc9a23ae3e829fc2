"""Word lists for name extraction: common female first names, and words that are not names.

``FIRST_NAMES`` are common given names (US and international, as used in ads) that are not
also ordinary English words or place names: a capitalised one is read as a name anywhere
in an ad. ``WORD_NAMES`` are given names that are also words ("Rose", "Candy", "Summer")
or places ("Charlotte", "Savannah"): they count as names only after a cue such as "my name
is" or "xoxo". ``NOT_NAMES`` are capitalised words that follow cues like "I'm" or "call me"
in ads without being names ("I'm Available", "Call Me Now").
"""

from __future__ import annotations

_FIRST_NAMES = """
Aria Maddie Zara
Aaliyah Abby Abigail Ada Adela Adelina Adeline Adriana Adrianna Adrienne Agata Agnes Aida
Aiko Aileen Aimee Aisha Aiyana Alaina Alana Alani Alanna Alayna Alba Alejandra Alena
Alessandra Alexa Alexandra Alexia Alexis Alice Alicia Alina Alisa Alisha Alison Alissa
Aliyah Allie Allison Alma Alondra Alyna Alyssa Amalia Amanda Amara Amaya Amelia Amelie Amina
Amira Amy Ana Anabel Anahi Anais Analia Anastasia Andrea Angela Angelica Angelina Angelique
Angie Ania Anika Anita Ann Anna Annabel Annabelle Annalise Anne Annette Annie Antonella
Antonia Anya Ariadna Ariana Arianna Ariel Ariella Arielle Arlene Ashanti Ashlee Ashley
Ashlyn Astrid Athena Aubree Aubrey Audra Audrey Ava Avery Aya Ayla Bailey Bambi Barbara
Beatrice Beatriz Becky Belinda Bella Benita Bernadette Beth Bethany Betty Beverly Bianca
Billie Blanca Brandi Brandie Breanna Bree Brenda Brianna Brianne Bridget Brielle Britney
Britt Brittani Brittany Brittney Brooke Brooklynn Bryanna Caitlin Callie Camila Camilla
Camille Candace Candice Cara Carina Carissa Carla Carly Carmela Carmen Caroline Carolyn
Carrie Cassandra Cassidy Cassie Catalina Catherine Cathy Cecilia Celeste Celia Celine Chanel
Chantal Chantelle Charlene Cheryl Chloe Christa Christie Christina Christine Cici Cierra
Cindy Claire Clara Clarissa Claudia Coco Colleen Connie Cora Corinne Courtney Cristina
Cynthia Daisha Dalia Dana Daniela Daniella Danielle Daphne Daria Darla Darlene Dasha Dayana
Deanna Debbie Deborah Dede Deja Delaney Delia Delilah Denise Desiree Diana Diane Didi Dina
Dolores Dominique Donna Dora Doris Eden Elaina Elena Eliana Elisa Elise Eliza Elizabeth Ella
Ellie Eloise Elsa Elsie Emely Emilia Emily Emma Erica Erika Erin Esme Esmeralda Esperanza
Estefania Estela Estelle Esther Eva Evangeline Evelyn Fabiola Farrah Fatima Felicia Fernanda
Fifi Fiona Francesca Frida Gabby Gabriela Gabriella Gabrielle Gemma Gia Giana Gianna Gigi
Gina Gisele Giselle Gladys Gloria Greta Gretchen Guadalupe Gwen Gwendolyn Hailee Hailey
Haley Halle Hana Hanna Hannah Harper Heather Heidi Helen Helena Hilary Hillary Ileana Iliana
Imani Ines Ingrid Inna Irene Irina Isabel Isabela Isabella Isabelle Itzel Ivana Ivanna
Ivette Izabella Jacqueline Jada Jaden Jaelyn Jaime Jamie Jana Janae Jane Janelle Janessa
Janet Janice Janine Jasmin Jasmine Jayda Jayla Jaylene Jaylin Jazlyn Jazmin Jazmine Jeanette
Jenna Jennifer Jenny Jessica Jessie Jillian Jin Jocelyn Jodi Johanna Jojo Jolene Jordyn
Josefina Josephine Josie Joyce Juana Judith Julia Juliana Julianna Julie Juliet Juliette
Justine Kailey Kaitlyn Kali Kaliyah Kamila Kamryn Kara Karen Karina Karla Kassandra Kassidy
Kat Katalina Kate Katelyn Katerina Katherine Kathleen Kathryn Kathy Katia Katie Katrina
Katya Kaya Kayla Kaylee Kayleigh Keiko Keira Keisha Kelly Kelsey Kendall Kendra Kenia
Kennedy Kenzie Keyla Khloe Kiana Kiara Kiki Kim Kimberly Kimi Kira Kirsten Krista Kristen
Kristin Kristina Krystal Ksenia Kyla Kylee Kylie Lacey Laci Lada Laila Lala Lan Lana Lani
Lara Larissa Latisha Latoya Laura Lauren Layan Layla Lea Leah Leann Leila Leilani Lena Leona
Leslie Leticia Lexi Lexie Lexy Leyla Lia Liana Lili Liliana Lillian Lilly Lily Lina Linda
Lindsay Lindsey Ling Linh Lior Lisa Liyah Liz Liza Lizbeth Lizette Lola Lolo Londyn Lorena
Lorraine Lucia Luciana Lucy Luisa Lulu Luna Lydia Lyla Maci Mackenzie Macy Madeline Madelyn
Madisyn Maggie Mai Maia Maite Makayla Makenna Malaya Malia Mallory Mandy Manuela Mara
Marcela Margaret Margarita Margot Maria Mariah Mariana Maribel Marie Marina Marisa Marisol
Marissa Marlene Marley Marta Martha Martina Mary Maryam Masha Maya Mckenzie Megan Meghan Mei
Melanie Melina Melissa Meredith Mia Micaela Michaela Michelle Mikayla Mila Milana Milena
Mimi Mindy Mira Miranda Miriam Molly Monica Monique Mya Nadia Nadine Nancy Naomi Nastya
Natalia Natalie Natasha Nayeli Nene Nevaeh Nia Nicole Nika Nikki Nina Nini Noa Noelle Noemi
Nora Norma Nour Nyla Octavia Oksana Olga Olivia Paige Paloma Pamela Paola Patricia Paula
Paulina Penelope Perla Peyton Phoebe Pilar Polina Priscilla Quinn Rachel Rachelle Raelynn
Rania Raquel Reagan Rebeca Rebecca Renee Rhea Rihanna Rita Roberta Rochelle Rocio Roro Rosa
Rosalie Rosalind Rosario Rosemary Roxana Roxanne Ruth Ryleigh Sabrina Sadie Salma Samantha
Samira Sandra Saniyah Sara Sarah Sarai Sasha Selena Selina Serena Shakira Shania Shannon
Shayla Shayna Sheila Shelby Sherry Shirley Silvia Simone Skyla Sofia Sonia Sonya Sophia
Sophie Sora Stacey Stacy Stefanie Stella Stephanie Stevie Suki Susan Susana Suzanne Sveta
Svetlana Sylvia Tabitha Tali Talia Tamara Tami Tammy Tania Tanja Tanya Tara Taryn Tasha
Tatiana Tatum Teagan Tessa Thalia Thao Theresa Tiana Tiffany Tina Tori Tracy Trang Trina
Tyra Valentina Valeria Valerie Vanessa Vera Veronica Vicky Vivian Viviana Vivienne Wanda
Wendy Whitney Ximena Yael Yara Yaritza Yasmin Yasmina Yasmine Yesenia Yesica Yolanda Yuki
Yulia Yumi Yvette Yvonne Zainab Zaria Zariah Zelda Zlata Zoe Zoey Zoie Zuri
"""

# Given names that are also words, colours, ethnicities or places: names only after a cue.
_WORD_NAMES = """
Amber Angel April Asia Aurora Austin Autumn Baby Barbie Blossom Bonita Bonnie Brandy Bunny
Candy Carolina Charity Charlotte Chastity Chelsea Cherry Cheyenne Cinderella Cinnamon Cookie
Crystal Daisy Dakota Dawn Destiny Diamond Dream Dulce Ebony Eve Faith Florence Genesis
Georgia Ginger Grace Harley Harmony Hazel Heaven Holly Honey Hope India Iris Ivory Ivy Jade
Jewel Joy June Karma Kenya Kitty Lace Lacy Lavender Liberty Lovely Luz Madison Magnolia May
Melody Mercedes Mercy Misty Olive Paisley Paris Passion Peaches Pearl Penny Poppy Precious
Princess Raven Regina Reina Rose Ruby Sage Sandy Satin Savanna Savannah Scarlet Scarlett
Serenity Sienna Silk Sky Skye Spice Star Storm Sugar Summer Sunny Sunshine Sweetie Tiara
Trinity Velvet Victoria Violet Willow
"""

# Capitalised words that follow a cue ("I'm ...", "call me ...", "meet ...") without being a
# name. Lower case.
_NOT_NAMES = """
a about above absolutely across actually adorable adventurous after again age ago ahead
all almost alone along already also always am amazing an and another any anybody anyone
anything anytime anywhere are around as ask asking at attractive available avail away awesome
babe baby back bad based be beautiful because been before being best better between big
bit blessed bold bored both bottom bright brand busy but by call calling can cant careful
caring charming cheap classy clean close coming completely confident cool could crazy
curious curvy cute daddy date dating definitely delicious delightful different discreet
do doing done down drama driving each easy educated either elegant else energetic enough
even ever every everyone everything exactly excited exclusive exotic experienced extra
extremely fabulous fair famous fantastic far fast favorite feeling feisty few finally fine
first fit flexible flirty for free fresh friendly from full fully fun funny genuine
get getting girl give glad go going gone good gorgeous got great guaranteed guys had happy
hard has have having he her here hey hi him his home honest hopefully hosting hot hotel how
i if ill im in incredible independent innocent inside instant into is it its just keep
kind kinda last late lets life like limited little live living local located lonely long
look looking lots loving low luxurious mad made magical make making many mature maybe me
meet mine more most much must my myself native natural naughty near need needing never
new next nice no none nor not nothing now of off ok okay old on once one only open or other
our out outgoing over own party passionate patient perfect personal petite playful please
pleased polite positive pretty private professional pure quick quite ready real really
reliable relaxed relaxing respectful right safe same satisfied seeking sensual serious
she shy simple sincere single slim small smart so social soft some someone something sometimes
soon sorry special spoiled still stunning such super sure sweet sweetest talented tall
tender text thankful thanks that the their them then there these they thick thin this those
through tight tiny tired to today together tonight too top totally traveling treat true
truly trust trusted trying ultimate under unique until up upscale us used usually very
visiting waiting want wanting warm was way we welcome well were what when where which while
who whole why wild will willing with without wonderful worth would yes yet you young your
yours youre yourself yummy
hello hiya howdy greetings town city muah mwah xoxo xo kisses hugs location area place
incall outcall rates donations specials
available availible discrete nowww sooo heyyy hiii meee ur u r luv bae boyz guyz
monday tuesday wednesday thursday friday saturday sunday january february march july
august september october november december
"""

FIRST_NAMES: frozenset[str] = frozenset(_FIRST_NAMES.split())
WORD_NAMES: frozenset[str] = frozenset(_WORD_NAMES.split())
NOT_NAMES: frozenset[str] = frozenset(_NOT_NAMES.split())

__all__ = ["FIRST_NAMES", "NOT_NAMES", "WORD_NAMES"]
