/**
 * Walker2d-v5's robot in MJCF, written for @hypernets/rl from the published facts of Gymnasium's
 * walker2d_v5.xml: Hopper's torso, then two legs of thigh (0.05, 0.225), leg (0.04, 0.25) and foot
 * (0.06, 0.1, friction 1.9) on hinges of −150…0°, −150…0°, −45…45°, gears 100, density 1000,
 * RK4 at 0.002 s, planar root joints with rootz's reference at 1.25. Visual-only parts left out.
 */
const leg = (side: string, color: string) => `
      <body name="thigh${side}" pos="0 0 -0.2">
        <joint name="thigh${side}_joint" type="hinge" axis="0 -1 0" range="-150 0"/>
        <geom name="thigh${side}_geom" pos="0 0 -0.225" size="0.05 0.225" friction="0.9"${color}/>
        <body name="leg${side}" pos="0 0 -0.7">
          <joint name="leg${side}_joint" type="hinge" axis="0 -1 0" pos="0 0 0.25" range="-150 0"/>
          <geom name="leg${side}_geom" size="0.04 0.25" friction="0.9"${color}/>
          <body name="foot${side}" pos="0.2 0 -0.35">
            <joint name="foot${side}_joint" type="hinge" axis="0 -1 0" pos="-0.2 0 0.1" range="-45 45"/>
            <geom name="foot${side}_geom" pos="-0.1 0 0.1" quat="0.70710678118654757 0 -0.70710678118654746 0" size="0.06 0.1" friction="1.9"${color}/>
          </body>
        </body>
      </body>`;

export const WALKER2D_XML = `
<mujoco model="walker2d">
  <compiler angle="degree" inertiafromgeom="true"/>
  <option integrator="RK4" timestep="0.002"/>
  <default>
    <joint limited="true" armature="0.01" damping="0.1"/>
    <geom type="capsule" contype="1" conaffinity="0" condim="3" density="1000" friction="0.7 0.1 0.1" rgba="0.8 0.6 0.4 1"/>
    <motor ctrllimited="true" ctrlrange="-1 1" gear="100"/>
  </default>
  <worldbody>
    <geom name="floor" type="plane" size="40 40 40" conaffinity="1" condim="3" rgba="0.8 0.9 0.8 1"/>
    <body name="torso" pos="0 0 1.25">
      <joint name="rootx" type="slide" axis="1 0 0" pos="0 0 -1.25" limited="false" armature="0" damping="0" stiffness="0"/>
      <joint name="rootz" type="slide" axis="0 0 1" pos="0 0 -1.25" ref="1.25" limited="false" armature="0" damping="0" stiffness="0"/>
      <joint name="rooty" type="hinge" axis="0 1 0" limited="false" armature="0" damping="0" stiffness="0"/>
      <geom name="torso_geom" size="0.05 0.2" friction="0.9"/>${leg('', '')}${leg('_left', ' rgba="0.7 0.3 0.6 1"')}
    </body>
  </worldbody>
  <actuator>
    <motor joint="thigh_joint"/>
    <motor joint="leg_joint"/>
    <motor joint="foot_joint"/>
    <motor joint="thigh_left_joint"/>
    <motor joint="leg_left_joint"/>
    <motor joint="foot_left_joint"/>
  </actuator>
</mujoco>
`;
