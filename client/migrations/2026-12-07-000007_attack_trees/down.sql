DROP TABLE attack_tree_leaves;
DROP TABLE attack_trees;
